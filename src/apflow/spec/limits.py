"""Every size limit of a tree, checked in one place before any expensive work.

``scan`` walks the raw tasks once, without recursion, before pydantic, the structural
checks, JSON Schema or repair see them. It stops at the first limit a tree breaks by far
(document size, absurd task counts), so a hostile input costs at most one bounded walk.
It also refuses what is not JSON at all (sets, objects, non-string keys, NaN, lone
surrogates), because such values cannot be stored or printed.

The pieces it uses live beside it, each for one concern, and stay importable from here:
walking Python values (:mod:`apflow.spec.json_walk`), scanning JSON text
(:mod:`apflow.spec.text_scan`) and pausing the garbage collector (:mod:`apflow.spec.gc_pause`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from apflow.core.task_fields import MAX_NAME
from apflow.spec.gc_pause import PROMOTE_AFTER as PROMOTE_AFTER
from apflow.spec.gc_pause import paused_gc as paused_gc
from apflow.spec.graph import MAX_SCAN_DEPTH
from apflow.spec.json_walk import MAX_NUMBER_DIGITS as MAX_NUMBER_DIGITS
from apflow.spec.json_walk import JsonWalk as _Walk
from apflow.spec.json_walk import has_lone_surrogate as _surrogate
from apflow.spec.json_walk import measure as _measure
from apflow.spec.json_walk import safe_text as safe_text
from apflow.spec.models import MAX_SPEC_ID, TaskSpec, TaskTreeSpec
from apflow.spec.report import Issue, path_of
from apflow.spec.text_scan import bracket_depth as bracket_depth
from apflow.spec.text_scan import plain_json_text as plain_json_text
from apflow.spec.text_scan import text_size as text_size

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
