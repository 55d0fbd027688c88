"""Tolerant JSON extraction from model answers.

Small models wrap JSON in code fences, add prose before and after it, leave trailing
commas and answer with a bare object where a list was asked for. We undo exactly those
habits and nothing more; anything else is reported with what we tried, so the re-ask
prompt can tell the model what was wrong.
"""

from __future__ import annotations

import json
import re
from typing import Any

from apflow.core.errors import LLMError

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\n?(.*?)```", re.DOTALL)


class JSONParseError(LLMError):
    """The model's answer held no JSON we could read; ``text`` is the answer itself."""

    def __init__(self, message: str, text: str, hint: str | None = None) -> None:
        self.text = text
        super().__init__(message, hint=hint or "answer with one JSON object and nothing else")


def _without_trailing_commas(text: str) -> str:
    """Drop commas before a closing bracket, leaving string contents untouched."""
    out: list[str] = []
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch == ",":
            rest = text[i + 1 :].lstrip()
            if rest[:1] in ("}", "]"):
                continue
        out.append(ch)
    return "".join(out)


def _balanced_spans(text: str) -> list[str]:
    """Every top-level ``{...}``/``[...]`` span, in order, honouring strings."""
    spans: list[str] = []
    depth = 0
    start = -1
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"' and depth > 0:
            in_string = True
        elif ch in "{[":
            if depth == 0:
                start = i
            depth += 1
        elif ch in "}]" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append(text[start : i + 1])
    if depth > 0 and start >= 0:
        spans.append(text[start:])  # unterminated: reported by the decoder below
    return spans


def cut_off(text: str) -> bool:
    """True when ``text`` ends inside an unfinished JSON value (the length limit was hit)."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"' and depth > 0:
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]" and depth > 0:
            depth -= 1
    return depth > 0


def _loads(candidate: str) -> Any:
    try:
        return json.loads(candidate)
    except json.JSONDecodeError:
        return json.loads(_without_trailing_commas(candidate))


def _candidates(text: str) -> list[str]:
    found = [body for _lang, body in _FENCE.findall(text)]
    stripped = text.strip()
    found.append(stripped)
    for source in [*found]:
        spans = _balanced_spans(source)
        # Largest first: the tree is the big object; prose may hold small {} examples.
        found.extend(sorted(spans, key=len, reverse=True))
    seen: set[str] = set()
    return [c for c in found if c.strip() and not (c in seen or seen.add(c))]


def parse_json(text: str) -> Any:
    """The first JSON value found in ``text`` (fences, prose and trailing commas tolerated).

    Raises :class:`JSONParseError` saying where decoding failed.
    """
    if not text or not text.strip():
        raise JSONParseError("the model returned an empty answer", text or "")
    first_error: json.JSONDecodeError | None = None
    for candidate in _candidates(text):
        try:
            return _loads(candidate)
        except json.JSONDecodeError as exc:
            first_error = first_error or exc
            continue
    if cut_off(text):
        raise JSONParseError(
            f"the answer stops before its JSON is complete ({len(text)} characters; it was "
            "probably cut off at the length limit)",
            text,
            hint="answer with a shorter tree: short ids, only the inputs that are needed, "
            "no long texts",
        )
    if first_error is not None and ("{" in text or "[" in text):
        line = first_error.doc.splitlines()[first_error.lineno - 1 : first_error.lineno]
        near = (line[0] if line else "")[max(0, first_error.colno - 30) : first_error.colno + 30]
        detail = f"{first_error.msg} at line {first_error.lineno} column {first_error.colno}"
        raise JSONParseError(f"the answer is not valid JSON: {detail} near {near!r}", text)
    preview = text.strip()[:80]
    raise JSONParseError(f"the answer holds no JSON object or list (starts {preview!r})", text)


def tasks_from(value: Any) -> list[Any]:
    """Normalise a tree answer: a list, ``{"tasks": [...]}``, or a single task object."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in ("tasks", "tree", "task_tree"):
            inner = value.get(key)
            if isinstance(inner, list):
                return inner
            if isinstance(inner, dict):
                return tasks_from(inner)
        if "id" in value or "schemas" in value:
            return [value]
    raise JSONParseError(
        'expected {"tasks": [...]} or a list of tasks, got '
        + (
            f"an object with keys {sorted(value)[:6]}"
            if isinstance(value, dict)
            else type(value).__name__
        ),
        json.dumps(value)[:200],
    )


def steps_from(value: Any) -> list[dict[str, Any]]:
    """Normalise a plan answer: ``{"steps": [...]}`` or a bare list of step objects."""
    steps = value.get("steps", value.get("plan")) if isinstance(value, dict) else value
    if isinstance(steps, list) and steps and all(isinstance(s, dict) for s in steps):
        return steps
    raise JSONParseError(
        'expected {"steps": [{"id", "does", "executor", "needs"}, ...]}', str(value)[:200]
    )
