"""repair_tree: fix what needs no judgement, and say what was changed.

Never invents inputs or guesses what a task means; what remains goes back to the
caller (the generator re-asks the model with the remaining issues).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from apflow.core import references
from apflow.core.errors import ValidationFailed
from apflow.core.registry import ExecutorRegistry, default_registry
from apflow.spec.graph import Refs, SpecGraph, referenced_ids, task_refs
from apflow.spec.limits import (
    Limits,
    paused_gc,
    raw_tasks,
)
from apflow.spec.models import AGGREGATOR, TASK_FIELDS, DependencySpec, TaskSpec, TaskTreeSpec
from apflow.spec.parse import load_within_limits, shape_issues
from apflow.spec.report import ValidationReport
from apflow.spec.snap import snap_executor
from apflow.spec.structure import free_id, new_root_id, taken_ids

#: Upper bound on repair passes (each pass fixes at least one thing or ends the loop).
_PASSES = 4


def repair_tree(
    tree: Any,
    report: ValidationReport | None = None,
    registry: ExecutorRegistry | None = None,
) -> tuple[TaskTreeSpec, list[str]]:
    """Return (repaired spec, one line per fix). A valid tree comes back valid, and one pass
    is enough: the result has no issue marked ``fixable`` left.

    Raises ValidationFailed (with the issues) only when the input cannot be parsed into
    tasks at all or is beyond the limits (``Limits()``, see :mod:`apflow.spec.limits`);
    never any other exception."""
    with paused_gc():
        return _repair(tree, report, registry)


def _repair(
    tree: Any, report: ValidationReport | None, registry: ExecutorRegistry | None
) -> tuple[TaskTreeSpec, list[str]]:
    registry = registry if registry is not None else default_registry
    fixes: list[str] = []
    # a spec is repaired as the list it holds: it may have been changed after it was built
    spec = _parse_raw(raw_tasks(tree) if isinstance(tree, TaskTreeSpec) else tree, fixes)
    if report is not None and report.valid and not fixes:
        return spec, fixes
    refs = _RefCache()
    # A fix can enable another (cutting a parent loop frees a duplicate id for renaming,
    # a rename adds a top-level task the root must wait for): repeat until nothing changes.
    for _ in range(_PASSES):
        done = len(fixes)
        _clean_dependencies(spec.tasks, fixes)
        _rename_duplicates(spec, fixes, refs)
        _snap_executors(spec.tasks, registry, fixes)
        _declare_references(spec, fixes, refs)
        _fix_root(spec, fixes, refs)
        if len(fixes) == done:
            break
    # inputs were copied on the way in and repair never changes them: no second deep copy
    tasks_out = [{**t.model_dump(exclude={"inputs"}), "inputs": t.inputs} for t in spec.tasks]
    try:
        return TaskTreeSpec.model_validate({"tasks": tasks_out}), fixes
    except ValidationError as exc:  # a repair produced something the model refuses
        raise ValidationFailed(ValidationReport(shape_issues(exc, tasks_out))) from None


def _parse_raw(tree: Any, fixes: list[str]) -> TaskTreeSpec:
    tasks, issues = load_within_limits(tree, Limits())
    if tasks is None:
        raise ValidationFailed(ValidationReport(issues))
    # parsed JSON text is this call's own, so it needs no copy before it is changed
    if not isinstance(tree, (str, bytes, bytearray)):
        tasks = _json_copy(tasks)
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            continue
        label = task.get("id", i)
        unknown = [k for k in task if k not in TASK_FIELDS]
        for key in unknown:
            del task[key]
        if unknown:
            fixes.append(f"task {label!r}: removed unknown field(s) {', '.join(unknown)}")
        deps = task.get("dependencies")
        if isinstance(deps, (str, dict)) or (
            isinstance(deps, list) and any(isinstance(d, str) for d in deps)
        ):
            fixes.append(f'task {label!r}: wrote dependencies as {{"id", "required"}} objects')
        schemas = task.get("schemas")
        if isinstance(schemas, str):
            fixes.append(f'task {label!r}: wrote schemas as {{"method": {schemas!r}}}')
            schemas = {"method": schemas}
        method = schemas.get("method") if isinstance(schemas, dict) else None
        name = task.get("name", "absent")
        if method and (name is None or (isinstance(name, str) and not name.strip())):
            fixes.append(f"task {label!r}: set the empty name to the executor id {method!r}")
    try:
        return TaskTreeSpec.model_validate({"tasks": tasks})
    except ValidationError as exc:
        raise ValidationFailed(ValidationReport(shape_issues(exc, tasks))) from None


def _json_copy(tasks: list[Any]) -> list[Any]:
    """A deep copy of tasks that ``scan`` found to be JSON (C speed, no recursion limit
    issues at the depths scan allows)."""
    return json.loads(json.dumps(tasks))


class _RefCache:
    """References of each task's inputs, found once per repair (repair never edits inputs)."""

    def __init__(self) -> None:
        self._by_task: dict[int, tuple[TaskSpec, Refs]] = {}

    def __call__(self, task: TaskSpec) -> Refs:
        hit = self._by_task.get(id(task))
        if hit is None or hit[0] is not task:
            hit = (task, task_refs(task))
            self._by_task[id(task)] = hit
        return hit[1]


def _clean_dependencies(tasks: list[TaskSpec], fixes: list[str]) -> None:
    for task in tasks:
        merged: dict[str, DependencySpec] = {}
        for dep in task.dependencies:
            if dep.id == task.id:
                fixes.append(f"task {task.id!r}: removed its dependency on itself")
            elif dep.id in merged:
                if dep.required and not merged[dep.id].required:  # a copy: never edit the input
                    merged[dep.id] = merged[dep.id].model_copy(update={"required": True})
                fixes.append(f"task {task.id!r}: removed a repeated dependency on {dep.id!r}")
            else:
                merged[dep.id] = dep  # copied only if it changes (most never do)
        if len(merged) != len(task.dependencies):
            task.dependencies = list(merged.values())


def _rename_duplicates(spec: TaskTreeSpec, fixes: list[str], refs: _RefCache) -> None:
    ids = {t.id for t in spec.tasks}
    if len(ids) == len(spec.tasks):
        return  # no duplicate: no need to collect every referenced id
    graph = SpecGraph(spec, refs)
    used = referenced_ids(spec, graph)
    taken = ids | used  # what taken_ids gives
    seen: set[str] = set()
    for task in spec.tasks:
        if task.id not in seen:
            seen.add(task.id)
            continue
        if task.id in used:
            continue  # someone refers to the id: which task they mean is a judgement call
        new = free_id(task.id, taken)
        taken.add(new)
        fixes.append(f"renamed the second task with id {task.id!r} to {new!r}")
        task.id = new


def _snap_executors(tasks: list[TaskSpec], registry: ExecutorRegistry, fixes: list[str]) -> None:
    ids = registry.ids()
    for task in tasks:
        if task.executor in ids:
            continue
        snapped = snap_executor(task.executor, ids)
        if snapped:
            fixes.append(f"task {task.id!r}: executor {task.executor!r} -> {snapped!r}")
            if task.name == task.executor:
                task.name = snapped
            task.schemas.method = snapped


def _declare_references(spec: TaskTreeSpec, fixes: list[str], refs: _RefCache) -> None:
    graph = SpecGraph(spec, refs)
    for task in spec.tasks:
        if graph.index.get(task.id) is None or spec.tasks[graph.index[task.id]] is not task:
            continue  # an unrenamed duplicate: which task a new edge belongs to is unclear
        declared = set(task.dependency_ids())
        for _path, raw, ref in refs(task):
            if not isinstance(ref, references.Reference) or ref.task_id in declared:
                continue
            target = ref.task_id
            if target == task.id or target not in graph.index:
                continue
            if graph.depends_on(target, task.id):
                continue  # the edge would close a cycle
            task.dependencies.append(DependencySpec(id=target, required=True))
            graph.deps[task.id].append(target)
            declared.add(target)
            fixes.append(f"task {task.id!r}: added dependency {target!r} used by {raw}")


def _fix_root(spec: TaskTreeSpec, fixes: list[str], refs: _RefCache) -> None:
    graph = SpecGraph(spec, refs)
    tasks = spec.tasks
    roots = [t for t in tasks if t.parent_id is None]
    orphans = [t for t in tasks if t.parent_id is not None and t.parent_id not in graph.index]
    loops, _ends = graph.parent_chains()
    # parent_id is organisational only, so cutting a loop at its first task changes no run order.
    cut = [tasks[min(graph.index[m] for m in loop)] for loop in loops]
    if len(tasks) == 1:
        for task in orphans + cut:
            fixes.append(f"task {task.id!r}: parent {task.parent_id!r} is not usable; made it root")
            task.parent_id = None
        return
    counts: dict[str, int] = {}
    for task in tasks:
        counts[task.id] = counts.get(task.id, 0) + 1
    # A root whose id is shared cannot be named unambiguously by parent_id: wrap instead.
    aggregators = [t for t in roots if t.executor == AGGREGATOR and counts[t.id] == 1]
    root: TaskSpec | None = None
    if len(roots) == 1 and aggregators:
        root = roots[0]
    elif len(roots) > 1 and len(aggregators) == 1:
        root = aggregators[0]
    elif (
        len(roots) == 1
        and counts[roots[0].id] == 1
        and not orphans + cut
        and not _needs_aggregator(spec, roots[0])
    ):
        return
    if root is None:
        root = TaskSpec(
            id=new_root_id(taken_ids(spec, graph)),
            name="Collect results",
            schemas={"method": AGGREGATOR},
        )
        tasks.insert(0, root)
        graph = SpecGraph(spec, refs)
        what = "several top-level tasks" if len(roots) != 1 else f"root {roots[0].id!r}"
        fixes.append(f"added an {AGGREGATOR} root {root.id!r} above {what}")
    for task in roots:
        if task is not root:
            task.parent_id = root.id
            fixes.append(f"task {task.id!r}: set parent_id to {root.id!r} (one root per tree)")
    for task in orphans:
        fixes.append(
            f"task {task.id!r}: parent {task.parent_id!r} does not exist; set parent_id to "
            f"{root.id!r}"
        )
        task.parent_id = root.id
    for task in cut:
        fixes.append(
            f"task {task.id!r}: parent_id {task.parent_id!r} closed a parent loop; set it to "
            f"{root.id!r}"
        )
        task.parent_id = root.id
    declared = set(root.dependency_ids())
    for task in tasks:
        if task.parent_id != root.id or task is root or task.id in declared:
            continue
        if graph.depends_on(task.id, root.id):
            continue
        root.dependencies.append(DependencySpec(id=task.id, required=True))
        graph.deps.setdefault(root.id, []).append(task.id)
        declared.add(task.id)
        fixes.append(f"root {root.id!r}: added dependency on top-level task {task.id!r}")


def _needs_aggregator(spec: TaskTreeSpec, root: TaskSpec) -> bool:
    if root.executor == AGGREGATOR:
        return False
    has_children = any(t.parent_id == root.id and t is not root for t in spec.tasks)
    return has_children or len({t.executor for t in spec.tasks}) >= 2
