"""Walking untrusted Python values that should be JSON, without recursion.

:func:`measure` is the fast pass every scan makes (depth, estimated JSON size and whether
anything is not JSON); :class:`JsonWalk` is the slow one that runs only after it found a
non-JSON value, to say where. :func:`safe_text` prints any such value safely. The limits
that use them are in :mod:`apflow.spec.limits`.
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

#: Integers longer than this many digits are refused (Python cannot even print 4,300).
MAX_NUMBER_DIGITS = 1000
_MAX_INT = 10**MAX_NUMBER_DIGITS


_SHORT_REPR = reprlib.Repr()  # keyword arguments need Python 3.12
_SHORT_REPR.maxlevel, _SHORT_REPR.maxstring, _SHORT_REPR.maxother = 2, 60, 60
_SHORT_REPR.maxlong = 40


def safe_text(value: Any, limit: int = 80) -> str:
    """``value`` as printable text: lone surrogates escaped, cut to ``limit`` characters.

    Never raises and never builds a huge string first: a non-JSON key can be anything a
    Python caller put there (an integer Python refuses to print, a tuple of millions, an
    object whose ``__repr__`` raises)."""
    if isinstance(value, str):
        text = value[: limit + 1]
    elif isinstance(value, int) and value.bit_length() > 1000:
        text = f"<an integer of {value.bit_length()} bits>"
    else:
        try:
            text = _SHORT_REPR.repr(value)
        except Exception:
            text = f"<a {type(value).__name__}>"
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def has_lone_surrogate(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _problem(item: Any) -> str | None:
    """Why a scalar is not a JSON value (None when it is one)."""
    if isinstance(item, str):
        return (
            "a string with a lone UTF-16 surrogate (\\ud800-\\udfff)"
            if has_lone_surrogate(item)
            else None
        )
    if item is None or isinstance(item, bool):
        return None
    if isinstance(item, int):
        return (
            f"a number with more than {MAX_NUMBER_DIGITS} digits" if abs(item) >= _MAX_INT else None
        )
    if isinstance(item, float):
        return None if math.isfinite(item) else f"{item!r}, which is not a JSON number"
    return f"a Python {type(item).__name__}, which is not a JSON value"


_CONTAINERS = (dict, list, tuple)
_INF = (math.inf, -math.inf)


def measure(value: Any, cap: int, budget: int) -> tuple[int, int, bool]:
    """(depth, estimated JSON bytes, whether something is not JSON) in one iterative pass.

    The fast path of every scan: scalars are checked inline (exact types first), containers
    pushed on a stack. Stops as soon as the depth passes ``cap`` or the size ``budget``.
    """
    deepest = 0
    size = 0
    stack: list[tuple[Any, int]] = [([value], 0)]  # a wrapper list, so the root is a child
    while stack:
        item, depth = stack.pop()
        child = depth + 1
        if type(item) is list:
            size += 2 + len(item)
            subs: Any = item
        elif isinstance(item, dict):
            size += 2
            subs = item.values()
            for key in item:
                if type(key) is not str:
                    if not isinstance(key, str):
                        return deepest, size, True
                size += len(key) + 3
                if not key.isascii() and has_lone_surrogate(key):
                    return deepest, size, True
        elif isinstance(item, (list, tuple)):
            size += 2 + len(item)
            subs = item
        else:  # pragma: no cover - only containers are pushed
            continue
        if size > budget:  # before walking a huge container's items
            return deepest, size, False
        if subs and child > deepest:
            if depth and child > cap:  # depth 0 is the wrapper
                return child, size, False
            deepest = child
        for sub in subs:
            kind = type(sub)
            if kind is str:
                size += len(sub) + 2
                if not sub.isascii() and has_lone_surrogate(sub):
                    return deepest, size, True
            elif kind is int:
                size += 2
                if sub >= _MAX_INT or sub <= -_MAX_INT:
                    return deepest, size, True
            elif kind is float:
                size += 2
                if sub != sub or sub in _INF:
                    return deepest, size, True
            elif kind is list or kind is dict:
                stack.append((sub, child))
            elif sub is None or kind is bool:
                size += 4
            elif isinstance(sub, _CONTAINERS):
                stack.append((sub, child))
            elif _problem(sub):  # subclasses of str, int, float are fine
                return deepest, size, True
            else:
                size += 2
        if size > budget:
            return deepest, size, False
    return deepest, size, False


class JsonWalk:
    """The slow walk that finds *where* the first non-JSON value is (with its path).

    Runs only after :func:`measure` found one, within its depth and size bounds, so it
    needs none of its own; children are visited in order, so the first bad value is the
    one reported."""

    __slots__ = ("bad", "bad_path")

    def __init__(self, value: Any, cap: int) -> None:
        self.bad: str | None = None
        self.bad_path: tuple = ()
        stack: list[tuple[Any, int, tuple]] = [(value, 1, ())]
        while stack:
            item, depth, path = stack.pop()
            if depth > cap:
                continue
            if isinstance(item, str):
                if not item.isascii() and has_lone_surrogate(item):
                    self.bad, self.bad_path = _problem(item), path
                    return
            elif isinstance(item, dict):
                children = []
                for key, sub in item.items():
                    if not isinstance(key, str):
                        self.bad = f"a key that is not a string ({safe_text(key, 40)})"
                        self.bad_path = path
                        return
                    if not key.isascii() and has_lone_surrogate(key):
                        self.bad = "a key with a lone UTF-16 surrogate (\\ud800-\\udfff)"
                        self.bad_path = path
                        return
                    children.append((sub, depth + 1, (*path, key)))
                stack.extend(reversed(children))
            elif isinstance(item, (list, tuple)):
                stack.extend((item[j], depth + 1, (*path, j)) for j in reversed(range(len(item))))
            else:
                problem = _problem(item)
                if problem:
                    self.bad, self.bad_path = problem, path
                    return
