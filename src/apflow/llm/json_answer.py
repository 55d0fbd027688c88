"""Tolerant JSON extraction from model answers.

Small models wrap JSON in code fences, add prose before and after it, leave trailing
commas and answer with a bare object where a list was asked for. We undo exactly those
habits and nothing more; anything else is reported with what we tried, so a re-ask can
tell the model what was wrong. Used by the generator and by ``llm_executor``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from apflow.core.errors import LLMError

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\n?(.*?)```", re.DOTALL)


class JSONParseError(LLMError):
    """The model's answer held no JSON we could read; ``text`` is the answer itself."""

    def __init__(self, message: str, text: str, hint: str | None = None) -> None:
        self.text = text
        super().__init__(message, hint=hint or "answer with one JSON object and nothing else")


def structure(text: str) -> Iterator[tuple[int, str, int]]:
    """``(index, character, depth before it)`` for each character outside JSON strings.

    The one string-aware scan: a ``"`` opens a string only inside ``{...}``/``[...]``, so
    quotes in the prose around the JSON do not swallow it. Strings are skipped whole.
    """
    depth = 0
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
            continue
        yield i, ch, depth
        if ch in "{[":
            depth += 1
        elif ch in "}]" and depth > 0:
            depth -= 1


def _without_trailing_commas(text: str) -> str:
    """Drop commas before a closing bracket, leaving string contents untouched."""
    drop = {
        i for i, ch, _ in structure(text) if ch == "," and text[i + 1 :].lstrip()[:1] in ("}", "]")
    }
    return "".join(ch for i, ch in enumerate(text) if i not in drop)


def _balanced_spans(text: str) -> list[str]:
    """Every top-level ``{...}``/``[...]`` span, in order; an unterminated last one too."""
    spans: list[str] = []
    start = -1
    for i, ch, depth in structure(text):
        if ch in "{[" and depth == 0:
            start = i
        elif ch in "}]" and depth == 1:
            spans.append(text[start : i + 1])
            start = -1
    if start >= 0:
        spans.append(text[start:])  # unterminated: reported by the decoder below
    return spans


def cut_off(text: str) -> bool:
    """True when ``text`` ends inside an unfinished JSON value (the length limit was hit)."""
    depth = 0
    for _, ch, before in structure(text):
        depth = before + 1 if ch in "{[" else before - 1 if ch in "}]" and before else before
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
