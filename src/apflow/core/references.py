"""``${task_id.result.path}`` references between task inputs and earlier results.

A string that is exactly one reference is replaced by the referenced value (any
JSON type); references inside a longer string are interpolated as text.
"""

from __future__ import annotations

import functools
import json
import operator
import re
from collections.abc import Callable, Iterator
from typing import Any

from apflow.core.errors import ApflowError

# Anything that looks like a reference, well-formed or not.
CANDIDATE = re.compile(r"\$\{([^{}]*)\}")
_SEGMENT = r"(?:\.[A-Za-z0-9_\-]+|\[\d+\])"
WELL_FORMED = re.compile(rf"^(?P<task>[A-Za-z0-9_\-]+)\.result(?P<path>{_SEGMENT}*)$")
# A string that is one well-formed reference and nothing else (the usual case), matched in
# one step; \s is what str.strip() removes.
_WHOLE = re.compile(rf"\$\{{\s*([A-Za-z0-9_\-]+)\.result({_SEGMENT}*)\s*\}}")


class InvalidReference(ApflowError):
    """A reference that cannot be resolved (bad syntax, missing path)."""


class Reference(tuple):
    """One parsed ``${task_id.result<tail>}``, as the tuple ``(task_id, tail)``.

    A tuple because it is the cheapest immutable object to make, and a tree may hold tens
    of thousands of references; ``raw`` and ``path`` are worked out on use (only running
    a task, or an issue about it, needs them).
    """

    __slots__ = ()

    def __new__(cls, task_id: str, tail: str = "") -> Reference:
        return tuple.__new__(cls, (task_id, tail))

    def __getnewargs__(self) -> tuple[str, str]:  # pickle and copy call __new__ with these
        return (self[0], self[1])

    #: the id of the task whose result is referenced (read at C speed: it is read a lot)
    task_id = property(operator.itemgetter(0))
    #: the path as written: ``""``, ``".field"``, ``".items[0].name"``, ...
    tail = property(operator.itemgetter(1))

    @property
    def raw(self) -> str:
        """The text between ``${`` and ``}``, without surrounding white space."""
        return f"{self[0]}.result{self[1]}"

    @property
    def path(self) -> tuple[str | int, ...]:
        """``("field", 0, ...)``."""
        return _path(self[1])

    def __str__(self) -> str:
        return "${" + self.raw + "}"

    def __repr__(self) -> str:
        return f"Reference({self.raw!r})"


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
    return Reference(match.group("task"), match.group("path"))


def _path(tail: str) -> tuple[str | int, ...]:
    """``.a.b[0]`` -> ``("a", "b", 0)``."""
    if not tail:
        return ()
    if "[" not in tail:  # only .field segments (their names hold no dot)
        return tuple(tail[1:].split("."))
    return tuple(
        int(seg[1:-1]) if seg.startswith("[") else seg[1:] for seg in _SEGMENT_RE.findall(tail)
    )


_new_tuple = tuple.__new__  # Reference(task_id, tail) without its Python-level __new__


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


def _strings_with_references(value: Any) -> list[tuple[tuple, str]]:
    """Like :func:`iter_strings`, but only the strings holding ``${``, as a list.

    Why not iter_strings: a path tuple is built only for containers and for those strings
    (not for every value), which is most of the cost on an input of thousands of strings.
    """
    if isinstance(value, str):
        return [((), value)] if "${" in value else []
    found: list[tuple[tuple, str]] = []
    if isinstance(value, dict):
        top: Iterator[tuple[Any, Any]] = iter(value.items())
    elif isinstance(value, list):
        top = enumerate(value)
    else:
        return found
    stack: list[tuple[tuple, Iterator[tuple[Any, Any]]]] = [((), top)]
    while stack:
        where, items = stack[-1]
        for key, item in items:  # resumes where it left off: document order
            if isinstance(item, str):
                if "${" in item:
                    found.append(((*where, key), item))
            elif isinstance(item, dict):
                stack.append(((*where, key), iter(item.items())))
                break
            elif isinstance(item, list):
                stack.append(((*where, key), enumerate(item)))
                break
        else:
            stack.pop()
    return found


def find_references(value: Any) -> Iterator[tuple[tuple, str, Reference | InvalidReference]]:
    """Every ``${...}`` in a JSON value: (path, raw text, Reference or the parse error)."""
    yield from list_references(value)


def list_references(value: Any) -> list[tuple[tuple, str, Reference | InvalidReference]]:
    """:func:`find_references` as a list (what the validator uses: no generator per item).

    Each distinct string is looked at once; one that is exactly one well-formed reference
    (the usual case) takes one regular-expression match."""
    if not _may_hold_references(value):
        return []
    strings = _strings_with_references(value)
    distinct = list(dict.fromkeys([text for _path, text in strings]))
    wholes = {
        text: None if match is None else _new_tuple(Reference, match.groups())
        for text, match in zip(distinct, map(_WHOLE.fullmatch, distinct), strict=True)
    }
    if None not in wholes.values():
        return [(path, text, wholes[text]) for path, text in strings]
    found: list[tuple[tuple, str, Reference | InvalidReference]] = []
    for path, text in strings:
        whole = wholes[text]
        if whole is not None:  # what the loop below finds for such a string, in one step
            found.append((path, text, whole))
            continue
        for match in CANDIDATE.finditer(text):
            try:
                found.append((path, match.group(0), parse(match.group(1))))
            except InvalidReference as exc:
                found.append((path, match.group(0), exc))
    return found


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
