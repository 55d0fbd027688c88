"""Scanning JSON text at C speed (regular expressions, ``bytes.translate``).

:func:`plain_json_text` tells, before any per-value walk, that a document holds nothing
the walk of :func:`apflow.spec.limits.scan` looks for; :func:`text_size` measures it.
"""

from __future__ import annotations

import itertools
import operator
import re
from typing import Any

from apflow.spec.json_walk import MAX_NUMBER_DIGITS


def text_size(tree: Any, cap: int) -> int:
    """UTF-8 bytes of JSON text (0 for anything that is not text); exact up to ``cap``."""
    if isinstance(tree, (bytes, bytearray)):
        return len(tree)
    if not isinstance(tree, str):
        return 0
    if len(tree) > cap or tree.isascii():
        return len(tree)
    return len(tree.encode("utf-8", "surrogatepass"))


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
#: bytes.translate arguments: every digit as "0" (a long number is then a long run of "0")
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * (MAX_NUMBER_DIGITS + 1)
#: Numbers json.loads may turn into inf (1e400, 309 digits before the point): then walk.
_HUGE_FLOAT = re.compile(rb"[eE][+-]?[0-9]{3}|[0-9]{309}")
#: ... and only the brackets, as "(" and ")"
_BRACKETS_ONLY = bytes.maketrans(b"[]{}", b"()()")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_BRACKET_RUN = re.compile(rb"\(+|\)+")
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def plain_json_text(text: str, cap: int) -> bool:
    """True when JSON text cannot hold anything the per-value walk of ``limits.scan`` looks
    for: no field nested as deep as ``cap`` (the whole document is at most ``cap + 1``
    brackets deep: the task list, a task, then the field), no NaN/Infinity, no number over
    MAX_NUMBER_DIGITS digits and no lone surrogate. Decided with regular expressions
    (C speed); False sends the parsed tree through the walk, which then finds the problem
    and its path (or, on a false alarm such as a "\\ud800" typed literally, nothing).

    Why: walking every value of a 1 MiB tree of small containers in Python took ~110-160
    ms; these scans take a fraction of that.
    """
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a raw lone surrogate in a Python str
            return False
    # An escaped backslash can make "\\ud800" look like half of a pair: then walk.
    if "\\u" in text and ("\\\\" in text or _LONE_SURROGATE.search(text)):
        return False
    if "\\" in text:
        skeleton = _JSON_STRING.sub('""', text)
    else:  # no escapes: every quote delimits a string, so the odd pieces are their contents
        skeleton = '""'.join(text.split('"')[::2])
    if "NaN" in skeleton or "Infinity" in skeleton:
        return False
    # Outside strings JSON text is ASCII (anything else is only deleted below).
    data = skeleton.encode("utf-8", "replace")
    if _LONG_NUMBER in data.translate(_DIGITS_AS_ZERO) or _HUGE_FLOAT.search(data):
        return False
    return bracket_depth(data.translate(_BRACKETS_ONLY, _NOT_BRACKETS)) <= cap + 1


def bracket_depth(brackets: bytes) -> int:
    """Deepest nesting of a balanced string of "(" and ")", at C speed for any shape.

    Each ``replace`` removes every innermost pair: one level, however many leaves. When
    that removes less than a tenth, the leaves (hence the alternations) are under a
    tenth of what is left, and the rest is summed over runs of "(" and ")" instead.
    """
    removed = 0
    while brackets:
        shorter = brackets.replace(b"()", b"")
        if len(shorter) > len(brackets) * 0.9:
            break
        brackets, removed = shorter, removed + 1
    if not brackets:
        return removed
    runs = map(len, _BRACKET_RUN.findall(brackets))  # "(", ")", "(", ... runs alternate
    steps = map(operator.mul, runs, itertools.cycle((1, -1)))
    return removed + max(itertools.accumulate(steps))
