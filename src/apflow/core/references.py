"""``${task_id.result.path}`` references between task inputs and earlier results.

A string that is exactly one reference is replaced by the referenced value (any
JSON type); references inside a longer string are interpolated as text.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from apflow.core.errors import ApflowError

# Anything that looks like a reference, well-formed or not.
CANDIDATE = re.compile(r"\$\{([^{}]*)\}")
_SEGMENT = r"(?:\.[A-Za-z0-9_\-]+|\[\d+\])"
WELL_FORMED = re.compile(rf"^(?P<task>[A-Za-z0-9_\-]+)\.result(?P<path>{_SEGMENT}*)$")


class InvalidReference(ApflowError):
    """A reference that cannot be resolved (bad syntax, missing path)."""


@dataclass(frozen=True)
class Reference:
    raw: str  # the text between ${ and }
    task_id: str
    path: tuple[str | int, ...]

    def __str__(self) -> str:
        return "${" + self.raw + "}"


_SEGMENT_RE = re.compile(_SEGMENT)


def parse(body: str) -> Reference:
    """Parse the text between ``${`` and ``}``; raise InvalidReference when malformed.

    Short ones are cached (a tree repeats the same few references many times, and a
    Reference is immutable); long ones are not, so the cache stays small."""
    return _parse_cached(body) if len(body) <= 200 else _parse(body)


@functools.lru_cache(maxsize=4096)
def _parse_cached(body: str) -> Reference:
    return _parse(body)


def _parse(body: str) -> Reference:
    text = body.strip()
    match = WELL_FORMED.match(text)
    if not match:
        raise InvalidReference(
            f"malformed reference ${{{body}}}: expected ${{task_id.result}} or "
            "${task_id.result.field.sub_field}"
        )
    tail = match.group("path")
    path = (
        tuple(
            int(seg[1:-1]) if seg.startswith("[") else seg[1:] for seg in _SEGMENT_RE.findall(tail)
        )
        if tail
        else ()
    )
    return Reference(text, match.group("task"), path)


def iter_strings(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Every string inside a JSON value, with its path, in document order.

    Iterative: a nested generator per level made each string cost O(depth).
    """
    stack: list[tuple[tuple, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            stack.extend((((*where, k), v) for k, v in reversed(item.items())))
        elif isinstance(item, list):
            stack.extend(((*where, i), v) for i, v in reversed(list(enumerate(item))))


def _may_hold_references(value: Any) -> bool:
    """False when no string in ``value`` can contain ``${``, found at C speed.

    Why: most inputs hold no reference; serialising them is ~10x cheaper than walking
    every container in Python, which matters for large untrusted inputs.
    """
    if isinstance(value, str):
        return "${" in value
    try:
        return "${" in json.dumps(value, ensure_ascii=False, check_circular=False)
    except (TypeError, ValueError, RecursionError):
        return True  # not plain JSON: walk it


def find_references(value: Any) -> Iterator[tuple[tuple, str, Reference | InvalidReference]]:
    """Every ``${...}`` in a JSON value: (path, raw text, Reference or the parse error)."""
    if not _may_hold_references(value):
        return
    for path, text in iter_strings(value):
        for match in CANDIDATE.finditer(text):
            try:
                yield path, match.group(0), parse(match.group(1))
            except InvalidReference as exc:
                yield path, match.group(0), exc


def lookup(result: Any, ref: Reference) -> Any:
    value = result
    for segment in ref.path:
        if (
            isinstance(segment, int)
            and isinstance(value, list)
            and -len(value) <= segment < len(value)
        ):
            value = value[segment]
        elif isinstance(value, dict) and str(segment) in value:
            value = value[str(segment)]
        elif isinstance(value, list) and isinstance(segment, str) and segment.isdigit():
            index = int(segment)
            if index >= len(value):
                raise InvalidReference(f"{ref}: index {index} out of range")
            value = value[index]
        else:
            raise InvalidReference(f"{ref}: the result of {ref.task_id!r} has no {segment!r}")
    return value


def resolve(value: Any, result_of: Callable[[str], Any]) -> Any:
    """Return a copy of ``value`` with every reference replaced via ``result_of(task_id)``."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        whole = CANDIDATE.fullmatch(value)
        if whole:
            ref = parse(whole.group(1))
            return lookup(result_of(ref.task_id), ref)

        def text(match: re.Match[str]) -> str:
            ref = parse(match.group(1))
            found = lookup(result_of(ref.task_id), ref)
            return found if isinstance(found, str) else json.dumps(found, default=str)

        return CANDIDATE.sub(text, value)
    if isinstance(value, dict):
        return {k: resolve(v, result_of) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, result_of) for v in value]
    return value
