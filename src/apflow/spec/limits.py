"""Every size limit of a tree, checked in one place before any expensive work.

``scan`` walks the raw tasks once, without recursion, before pydantic, the structural
checks, JSON Schema or repair see them. It stops at the first limit a tree breaks by far
(document size, absurd task counts), so a hostile input costs at most one bounded walk.
It also refuses what is not JSON at all (sets, objects, non-string keys, NaN, lone
surrogates), because such values cannot be stored or printed.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import math
import operator
import re
import reprlib
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from apflow.core.task_fields import MAX_NAME
from apflow.spec.graph import MAX_SCAN_DEPTH
from apflow.spec.models import MAX_SPEC_ID, TaskSpec, TaskTreeSpec
from apflow.spec.report import Issue, path_of

#: Integers longer than this many digits are refused (Python cannot even print 4,300).
MAX_NUMBER_DIGITS = 1000
_MAX_INT = 10**MAX_NUMBER_DIGITS
#: Beyond this many times max_tasks, the tasks are not even looked at.
HOPELESS_FACTOR = 10
#: Fields checked against ``max_id_length`` (the name has ``max_name_length``).
_ID_FIELDS = ("id", "parent_id")


@dataclass(frozen=True)
class Limits:
    """Size limits that keep an untrusted tree from exhausting CPU, memory or the database.

    Every one is checked by :func:`scan` before anything else looks at the tree; a tree
    beyond any of them gets only the limit issues back (fix those first).
    """

    #: the whole tree: UTF-8 bytes of the JSON text (estimated the same way for objects)
    max_document_bytes: int = 1_048_576
    max_tasks: int = 200
    #: dependencies of one task
    max_dependencies: int = 200
    #: characters of a task id, parent_id, dependency id or executor id (schemas.method)
    max_id_length: int = MAX_SPEC_ID
    #: characters of a task name
    max_name_length: int = MAX_NAME
    #: bytes of one task's inputs as JSON
    max_input_bytes: int = 65536
    #: nesting of inputs, params, schemas and every other field of a task
    max_input_depth: int = 32

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"Limits.{name} must be an integer >= 0, got {value!r}")
        # the task model (and the name column) hold no more, whatever a limit says
        for name, most in (("max_id_length", MAX_SPEC_ID), ("max_name_length", MAX_NAME)):
            if getattr(self, name) > most:
                raise ValueError(
                    f"Limits.{name} can be at most {most} (the longest a tree keeps), "
                    f"got {getattr(self, name)}"
                )


#: What storage and the engine need whatever the caller allows (``create_tree`` checks these).
STORAGE_LIMITS = Limits(
    max_document_bytes=1 << 62,
    max_tasks=1 << 62,
    max_dependencies=1 << 62,
    max_id_length=MAX_SPEC_ID,
    max_name_length=MAX_NAME,
    max_input_bytes=1 << 62,
    max_input_depth=MAX_SCAN_DEPTH,
)


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


def _surrogate(text: str) -> bool:
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
            "a string with a lone UTF-16 surrogate (\\ud800-\\udfff)" if _surrogate(item) else None
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


def _measure(value: Any, cap: int, budget: int) -> tuple[int, int, bool]:
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
                if not key.isascii() and _surrogate(key):
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
                if not sub.isascii() and _surrogate(sub):
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


class _Walk:
    """The slow walk that finds *where* the first non-JSON value is (with its path).

    Runs only after :func:`_measure` found one, within its depth and size bounds, so it
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
                if not item.isascii() and _surrogate(item):
                    self.bad, self.bad_path = _problem(item), path
                    return
            elif isinstance(item, dict):
                children = []
                for key, sub in item.items():
                    if not isinstance(key, str):
                        self.bad = f"a key that is not a string ({safe_text(key, 40)})"
                        self.bad_path = path
                        return
                    if not key.isascii() and _surrogate(key):
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


def _too_long(i: int, task_id: str | None, where: tuple, what: str, n: int, limit: int) -> Issue:
    hints = {
        "id": "use a short id of letters, digits, '_' and '-', e.g. \"fetch_page\"",
        "executor id": "use a registered executor id (run `apflow executors list`)",
        "name": "keep the name a short human label; put details in inputs",
    }
    return Issue(
        code="value_too_long",
        task_id=task_id,
        path=path_of("tasks", i, *where),
        message=f"the {what} is {n} characters long; the limit is {limit}",
        hint=hints.get(what, f"use the id of a task in this tree (at most {limit} characters)"),
    )


def _task_fields(task: TaskSpec) -> dict[str, Any]:
    """A parsed task as the plain fields ``scan`` walks (extras of schemas/params included)."""
    params = dict(task.params.model_extra or {})
    params.update(timeout=task.params.timeout, retries=task.params.retries)
    return {
        "id": task.id,
        "name": task.name,
        "parent_id": task.parent_id,
        "dependencies": [{"id": d.id, "required": d.required} for d in task.dependencies],
        "schemas": {**(task.schemas.model_extra or {}), "method": task.schemas.method},
        "inputs": task.inputs,
        "priority": task.priority,
        "params": params,
    }


def raw_tasks(tree: TaskTreeSpec | Iterable[Any]) -> list[Any]:
    """The tasks of a parsed tree (or a list that may hold TaskSpec objects) as plain dicts."""
    items = tree.tasks if isinstance(tree, TaskTreeSpec) else tree
    return [_task_fields(t) if isinstance(t, TaskSpec) else t for t in items]


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
    """True when JSON text cannot hold anything the per-value walk of :func:`scan` looks
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


def document_too_large(size: int, limits: Limits) -> Issue:
    return Issue(
        code="document_too_large",
        message=f"the tree is {'more than ' if size < 0 else ''}{abs(size)} bytes; "
        f"the limit is {limits.max_document_bytes} bytes",
        hint=f"keep the tree under {limits.max_document_bytes} bytes: let tasks fetch or "
        "produce large data and pass it on with ${task_id.result} references, or split "
        "the workflow into several trees",
    )


def too_many_tasks(count: int, limits: Limits) -> Issue:
    return Issue(
        code="too_many_tasks",
        path="tasks",
        message=f"the tree has {count} tasks; the limit is {limits.max_tasks}",
        hint=f"use at most {limits.max_tasks} tasks: merge small steps into one task, "
        "or split the workflow into several trees",
    )


def scan(
    tasks: list[Any], limits: Limits, *, text_checked: bool = False, plain: bool = False
) -> list[Issue]:
    """Every limit issue of a raw task list (empty when the tree is within the limits).

    The document size is estimated from the values (a lower bound of their JSON size) unless
    ``text_checked``: the tasks were parsed from JSON text whose size was already checked.
    ``plain``: that text passed :func:`plain_json_text`, so no value needs walking for
    depth or JSON-ness (counts, lengths and input sizes are still checked).

    Checks, in this order and without recursion: task count, whole-document size,
    per-field nesting depth, non-JSON values, the size of inputs, dependency count and
    string lengths.
    """
    issues: list[Issue] = []
    if len(tasks) > limits.max_tasks:
        issues.append(too_many_tasks(len(tasks), limits))
        if len(tasks) > limits.max_tasks * HOPELESS_FACTOR:
            return issues
    cap = min(limits.max_input_depth, MAX_SCAN_DEPTH)
    budget = limits.max_document_bytes if not text_checked else 1 << 62
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            issue, used = _field(i, None, (), task, cap, budget)
            budget -= used
            issues += issue
        else:
            tid = task.get("id")
            task_id = tid if isinstance(tid, str) and len(tid) <= limits.max_id_length else None
            task_id = task_id if task_id is None or not _surrogate(task_id) else None
            for key, value in task.items():
                if not isinstance(key, str) or _surrogate(key):
                    issues.append(
                        Issue(
                            code="not_json",
                            path=path_of("tasks", i),
                            message=f"the task has a field name {safe_text(key, 40)} "
                            "that is not a JSON string",
                            hint="use only the task fields id, name, parent_id, dependencies, "
                            "schemas, inputs, priority and params",
                        )
                    )
                    continue
                if plain:
                    issue, used = [], 0
                else:
                    issue, used = _field(i, task_id, (key,), value, cap, budget)
                budget -= used
                issues += issue
                if budget < 0:
                    break
                if key == "inputs" and not issue:
                    issues += input_size(i, task_id, value, limits)
            if budget >= 0:
                issues += _lengths(i, task_id, task, limits)
        if budget < 0:
            return [document_too_large(-limits.max_document_bytes, limits)]
    return issues


def input_size(i: int, task_id: str | None, inputs: Any, limits: Limits) -> list[Issue]:
    """``input_too_large`` when one task's inputs are more than ``max_input_bytes`` as JSON
    (call only on a value ``scan`` found to be JSON and not too deep)."""
    # ensure_ascii: the text is ASCII, its length its size; a value scan passed has no cycle
    size = len(json.dumps(inputs, check_circular=False))
    if size <= limits.max_input_bytes:
        return []
    return [
        Issue(
            code="input_too_large",
            task_id=task_id,
            path=path_of("tasks", i, "inputs"),
            message=f"inputs are {size} bytes; the limit is {limits.max_input_bytes} bytes "
            "per task",
            hint="keep inputs small: let a task fetch or produce the data and pass it on with "
            "a ${task_id.result} reference instead of inlining it",
        )
    ]


def _field(
    i: int, task_id: str | None, where: tuple, value: Any, cap: int, budget: int
) -> tuple[list[Issue], int]:
    """Depth and JSON-ness of one field of task i: (issues, estimated bytes)."""
    depth, size, bad = _measure(value, cap, budget)
    if size > budget:
        return [], size
    field = where[0] if where else "task"
    if depth > cap:
        what = "inputs are" if field == "inputs" else f"{field} is"
        return [
            Issue(
                code="input_too_large" if field == "inputs" else "too_deep",
                task_id=task_id,
                path=path_of("tasks", i, *where),
                message=f"{what} nested more than {cap} levels deep",
                hint=f"flatten {field}; pass structured data between tasks with "
                "${task_id.result} references instead of inlining it",
            )
        ], size
    if not bad:
        return [], size
    located = _Walk(value, cap)
    parts = [safe_text(p, 40) if isinstance(p, str) else p for p in located.bad_path]
    path = path_of("tasks", i, *where, *parts)
    return [
        Issue(
            code="not_json",
            task_id=task_id,
            path=path if len(path) <= 300 else path[:297] + "...",
            message=f"{path_of(*where, *parts)[:200] or 'the task'} holds "
            f"{located.bad or 'a value that is not JSON'}",
            hint="use only JSON values: objects with string keys, lists, strings (valid "
            "UTF-8), finite numbers, true, false and null",
        )
    ], size


def _lengths(i: int, task_id: str | None, task: dict[str, Any], limits: Limits) -> list[Issue]:
    """String lengths of ids, the name and the executor, and the number of dependencies."""
    issues = []
    for key in _ID_FIELDS:
        value = task.get(key)
        if isinstance(value, str) and len(value) > limits.max_id_length:
            issues.append(
                _too_long(
                    i,
                    task_id,
                    (key,),
                    key,
                    len(value),
                    limits.max_id_length,
                )
            )
    name = task.get("name")
    if isinstance(name, str) and len(name) > limits.max_name_length:
        issues.append(_too_long(i, task_id, ("name",), "name", len(name), limits.max_name_length))
    if isinstance(name, str) and "\x00" in name:  # PostgreSQL refuses NUL in text columns
        issues.append(
            Issue(
                code="not_json",
                task_id=task_id,
                path=path_of("tasks", i, "name"),
                message="the name contains a NUL character (\\u0000), which no database stores "
                "in a name",
                hint="remove the NUL character from the name",
            )
        )
    schemas = task.get("schemas")
    method = schemas.get("method") if isinstance(schemas, dict) else schemas
    if isinstance(method, str) and len(method) > limits.max_id_length:
        where = ("schemas", "method") if isinstance(schemas, dict) else ("schemas",)
        issues.append(
            _too_long(i, task_id, where, "executor id", len(method), limits.max_id_length)
        )
    deps = task.get("dependencies")
    if isinstance(deps, (str, dict)):
        deps = [deps]
    if isinstance(deps, (list, tuple)):
        if len(deps) > limits.max_dependencies:
            issues.append(
                Issue(
                    code="too_many_dependencies",
                    task_id=task_id,
                    path=path_of("tasks", i, "dependencies"),
                    message=f"the task has {len(deps)} dependencies; the limit is "
                    f"{limits.max_dependencies}",
                    hint=f"depend on at most {limits.max_dependencies} tasks: group the others "
                    "under an aggregate_results_executor task and depend on that one",
                )
            )
        for j, dep in enumerate(deps[: limits.max_dependencies]):
            dep_id = dep.get("id") if isinstance(dep, dict) else dep
            if isinstance(dep_id, str) and len(dep_id) > limits.max_id_length:
                where = ("dependencies", j, "id") if isinstance(dep, dict) else ("dependencies", j)
                issues.append(
                    _too_long(i, task_id, where, "dependency id", len(dep_id), limits.max_id_length)
                )
    return issues


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Run a block with Python's cyclic garbage collector paused (then restored).

    Why: reading and walking a large tree creates hundreds of thousands of lists and
    dicts, and each allocation burst triggers collections that traverse every live
    container again: for 1 MiB of small lists, json.loads took 124 ms with the collector
    running and 21 ms without. JSON values hold no reference cycles, so reference counting
    frees them all; the collector runs normally again afterwards. Threads validating at
    the same time share one pause: the collector comes back when the last one is done.
    """
    global _pauses, _enable_after
    with _pause_lock:  # the switch is process-wide: the first pause in turns it off
        if _pauses == 0:
            _enable_after = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:  # ... and the last one out restores it
            _pauses -= 1
            if _pauses == 0 and _enable_after:
                _promote_young_objects()
                gc.enable()


_pause_lock = threading.Lock()
_pauses = 0
_enable_after = False


#: Containers made during a pause beyond which they are promoted instead of collected.
PROMOTE_AFTER = 50_000


def _promote_young_objects() -> None:
    """After a large tree, move the objects made while the collector was paused to the
    oldest generation.

    Why: re-enabled, the collector would at once traverse every container made during the
    pause (the returned tree among them: ~30 ms for 280,000 containers) although most die by
    reference counting soon after. ``freeze`` + ``unfreeze`` moves them to the oldest
    generation without traversing anything; a full collection still looks at them. Only
    after more than PROMOTE_AFTER containers (a tree of ~1 MiB of small values; an ordinary
    200-task tree makes ~5,000): the move also takes along whatever young cyclic garbage the
    rest of the process had, which then waits for a full collection, so a server validating
    ordinary trees keeps the collector's usual rhythm. Skipped when the application froze
    objects itself (``gc.freeze()`` after fork, say), so that those stay frozen.
    """
    if gc.get_count()[0] > PROMOTE_AFTER and gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
