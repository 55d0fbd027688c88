"""Load and render the prompt templates in ``apflow/prompts`` strictly.

Templates are package data read with importlib.resources and rendered with Jinja2
``StrictUndefined``: a missing variable is a :class:`PromptError`, never an empty
string in front of a model. A line ``=== user ===`` splits the system part (constant
across requests, so the local backend can cache it) from the user part.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2

from apflow.core.errors import PromptError
from apflow.llm.base import Message

PACKAGE = "apflow.prompts"
USER_MARKER = "=== user ==="


def _source(name: str) -> tuple[str, None, Any]:
    try:
        text = resources.files(PACKAGE).joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        raise jinja2.TemplateNotFound(name) from None
    return text, None, lambda: True


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_source),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def template_names() -> list[str]:
    """Every ``*.j2`` template shipped in the prompts package."""
    root = resources.files(PACKAGE)
    return sorted(p.name for p in root.iterdir() if p.name.endswith(".j2"))


def render(name: str, **variables: Any) -> str:
    """Render template ``name``; raises :class:`PromptError` on a missing template or variable."""
    try:
        template = _environment().get_template(name)
        return template.render(**variables).strip()
    except jinja2.TemplateNotFound:
        raise PromptError(
            f"prompt template {name!r} not found",
            hint=f"available: {', '.join(template_names())}",
        ) from None
    except jinja2.UndefinedError as exc:
        raise PromptError(
            f"prompt template {name!r} needs a variable that was not given: {exc.message}",
            hint=f"pass it to render({name!r}, ...)",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise PromptError(f"prompt template {name!r} line {exc.lineno}: {exc.message}") from None


def render_messages(name: str, **variables: Any) -> list[Message]:
    """Render ``name`` into chat messages: system part, then the part after ``=== user ===``."""
    text = render(name, **variables)
    if USER_MARKER not in text:
        return [{"role": "user", "content": text}]
    system, user = text.split(USER_MARKER, 1)
    messages: list[Message] = []
    if system.strip():
        messages.append({"role": "system", "content": system.strip()})
    messages.append({"role": "user", "content": user.strip()})
    return messages
