"""``${task_id.result.path}`` references between task inputs and earlier results.

A string that is exactly one reference is replaced by the referenced value (any
JSON type); references inside a longer string are interpolated as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# Anything that looks like a reference, well-formed or not.
CANDIDATE = re.compile(r"\$\{([^{}]*)\}")
_SEGMENT = r"(?:\.[A-Za-z0-9_\-]+|\[\d+\])"
WELL_FORMED = re.compile(rf"^(?P<task>[A-Za-z0-9_\-]+)\.result(?P<path>{_SEGMENT}*)$")


class ReferenceError_(Exception):
    """A reference that cannot be resolved (bad syntax, missing path)."""


@dataclass(frozen=True)
class Reference:
    raw: str  # the text between ${ and }
    task_id: str
    path: tuple[str | int, ...]

    def __str__(self) -> str:
        return "${" + self.raw + "}"


def parse(body: str) -> Reference:
    """Parse the text between ``${`` and ``}``; raise ReferenceError_ when malformed."""
    match = WELL_FORMED.match(body.strip())
    if not match:
        raise ReferenceError_(
            f"malformed reference ${{{body}}}: expected ${{task_id.result}} or "
            "${task_id.result.field.sub_field}"
        )
    path: list[str | int] = []
    for seg in re.findall(_SEGMENT, match.group("path")):
        path.append(int(seg[1:-1]) if seg.startswith("[") else seg[1:])
    return Reference(body.strip(), match.group("task"), tuple(path))


def iter_strings(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Every string inside a JSON value, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from iter_strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_strings(item, (*path, index))


def find_references(value: Any) -> Iterator[tuple[tuple, str, Reference | ReferenceError_]]:
    """Every ``${...}`` in a JSON value: (path, raw text, Reference or the parse error)."""
    for path, text in iter_strings(value):
        for match in CANDIDATE.finditer(text):
            try:
                yield path, match.group(0), parse(match.group(1))
            except ReferenceError_ as exc:
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
                raise ReferenceError_(f"{ref}: index {index} out of range")
            value = value[index]
        else:
            raise ReferenceError_(f"{ref}: the result of {ref.task_id!r} has no {segment!r}")
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
