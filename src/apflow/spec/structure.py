"""Structural checks: ids, dependencies, parents, cycles, the root and the aggregator rule."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from apflow.core.utils.similar import close_matches
from apflow.spec.graph import SpecGraph, referenced_ids
from apflow.spec.models import AGGREGATOR, TaskTreeSpec
from apflow.spec.report import Issue, cap_per_code, path_of

#: The ids a new task must not get (see :func:`taken_ids`), worked out when first asked for.
Taken = Callable[[], set[str]]

_ROOT_EXAMPLE = '{"id": "%s", "parent_id": null, "schemas": {"method": "%s"}, "dependencies": %s}'
#: "Did you mean" is worked out for this many distinct unknown ids only (difflib is slow).
SUGGESTIONS = 10
#: ... against at most this many candidate ids.
SUGGESTION_CANDIDATES = 500


def _quote(ids: list[str]) -> str:
    return ", ".join(f'"{i}"' for i in ids)


def free_id(base: str, taken: set[str] | dict[str, int], start: int = 2) -> str:
    """``base_<n>`` with the smallest n >= start that no task uses (kept under 100 chars)."""
    base = base[:90]
    n = start
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def new_root_id(taken: set[str] | dict[str, int]) -> str:
    """The id for an added root: "root", else "root_1", "root_2", ...

    ``taken`` must hold every id in use *and* every id something refers to, so a dangling
    dependency or ``${root_1.result}`` is never bound to a task that repair adds.
    """
    return "root" if "root" not in taken else free_id("root", taken, start=1)


def taken_ids(spec: TaskTreeSpec, graph: SpecGraph | None = None) -> set[str]:
    """Ids an added or renamed task must not get: every task id and every referenced id."""
    return {t.id for t in spec.tasks} | referenced_ids(spec, graph)


def check_structure(spec: TaskTreeSpec, graph: SpecGraph) -> list[Issue]:
    """Every structural issue of the tree (assumes it parsed and is not empty)."""
    issues: list[Issue] = []
    # Only a duplicate or a missing root needs them (to name a new id): found on first use.
    taken: Taken = functools.cache(lambda: taken_ids(spec, graph))
    issues += _duplicates(spec, graph, taken)
    issues += _dependencies(spec, graph)
    loops, ends = graph.parent_chains()
    issues += _parents(spec, graph, loops)
    issues += _cycles(graph)
    issues += _roots(spec, graph, ends, taken)
    return issues


def _duplicates(spec: TaskTreeSpec, graph: SpecGraph, taken: Taken) -> list[Issue]:
    issues = []
    if len(graph.index) == len(spec.tasks):
        return issues
    used = referenced_ids(spec, graph)
    names = set(taken())
    for i, task in enumerate(spec.tasks):
        first = graph.index[task.id]
        if first == i:
            continue
        new_id = free_id(task.id, names)
        names.add(new_id)
        issues.append(
            Issue(
                code="duplicate_id",
                task_id=task.id,
                path=path_of("tasks", i, "id"),
                message=f"id {task.id!r} is already used by task {first}",
                hint=f'give every task a unique id, e.g. rename this one to "{new_id}" and '
                "update the dependencies, parent_id and references that mean it",
                fixable=task.id not in used,
            )
        )
    return issues


class _Suggester:
    """ "Did you mean" for unknown ids: a task whose *name* is the id, else close ids.

    Bounded: difflib runs for the first SUGGESTIONS distinct ids only, against at most
    SUGGESTION_CANDIDATES ids; later issues get the plain hint.
    """

    def __init__(self, spec: TaskTreeSpec, graph: SpecGraph) -> None:
        self.by_name: dict[str, list[str]] = {}
        for t in spec.tasks:
            if t.name:
                self.by_name.setdefault(t.name, []).append(t.id)
        self.candidates = list(graph.index)[:SUGGESTION_CANDIDATES]
        self.done: dict[str, list[str]] = {}

    def __call__(self, unknown: str) -> list[str]:
        if unknown in self.by_name:
            return self.by_name[unknown][:3]
        if unknown not in self.done:
            if len(self.done) >= SUGGESTIONS:
                return []
            self.done[unknown] = close_matches(unknown, self.candidates, n=3, cutoff=0.5)
        return self.done[unknown]


def _dependencies(spec: TaskTreeSpec, graph: SpecGraph) -> list[Issue]:
    issues = []
    suggest = _Suggester(spec, graph)
    index = graph.index
    for i, task in enumerate(spec.tasks):
        tid = task.id
        problems = [
            ("self_dependency" if dep.id == tid else "missing_dependency", dep.id, j)
            for j, dep in enumerate(task.dependencies)
            if dep.id == tid or dep.id not in index
        ]
        if not problems:
            continue
        listed, more = cap_per_code(problems)
        for code, j in listed:
            dep_id = task.dependencies[j].id
            where = path_of("tasks", i, "dependencies", j, "id")
            if code == "self_dependency":
                issues.append(
                    Issue(
                        code="self_dependency",
                        task_id=tid,
                        path=where,
                        message="the task depends on itself, so it could never start",
                        hint=f'remove "{tid}" from its own dependencies',
                        fixable=True,
                    )
                )
                continue
            close = suggest(dep_id)
            maybe = f" (did you mean {_quote(close)}?)" if close else ""
            issues.append(
                Issue(
                    code="missing_dependency",
                    task_id=tid,
                    path=where,
                    message=f"depends on {dep_id!r}, which is not a task in this tree",
                    hint=f"use the id of an existing task{maybe}, or add a task with id "
                    f'"{dep_id}", or remove "{dep_id}" from the dependencies',
                )
            )
        issues += [_more_dependencies(i, tid, code, ids) for code, ids in more.items()]
    return issues


def _more_dependencies(i: int, task_id: str, code: str, ids: list[str]) -> Issue:
    """One issue for the dependency problems of a task beyond the first ISSUES_PER_TASK."""
    if code == "self_dependency":
        message = f"and {len(ids)} more dependencies of the task on itself"
        hint = f'remove every "{task_id}" from its own dependencies'
    else:
        shown = _quote(sorted(set(ids))[:5]) + (", ..." if len(set(ids)) > 5 else "")
        message = f"and {len(ids)} more dependencies that are not tasks in this tree ({shown})"
        hint = "remove them from the dependencies, or add tasks with those ids"
    return Issue(
        code=code,
        task_id=task_id,
        path=path_of("tasks", i, "dependencies"),
        message=message,
        hint=hint,
        fixable=code == "self_dependency",
    )


def _parents(spec: TaskTreeSpec, graph: SpecGraph, loops: list[list[str]]) -> list[Issue]:
    issues = []
    roots = [t.id for t in spec.tasks if t.parent_id is None]
    suggestion = f'"{roots[0]}"' if len(roots) == 1 else "the root's id"
    for i, task in enumerate(spec.tasks):
        if task.parent_id is not None and task.parent_id not in graph.index:
            issues.append(
                Issue(
                    code="missing_parent",
                    task_id=task.id,
                    path=path_of("tasks", i, "parent_id"),
                    message=f"parent_id {task.parent_id!r} is not a task in this tree",
                    hint=f"set parent_id to an existing task, normally {suggestion}",
                    fixable=True,
                )
            )
    for loop in loops:
        first = loop[0]
        shown = " -> ".join([*loop, first])
        issues.append(
            Issue(
                code="parent_cycle",
                task_id=first,
                path=path_of("tasks", graph.index[first], "parent_id"),
                message=f"parent_id links form a loop ({shown}), so these tasks are under no root",
                hint=f'set parent_id of "{first}" to the root task (or null if it is the root)',
                fixable=True,
            )
        )
    return issues


def _cycles(graph: SpecGraph) -> list[Issue]:
    issues = []
    for cycle in graph.cycles():
        shown = " -> ".join([*cycle, cycle[0]])
        edges = list(zip(cycle, [*cycle[1:], cycle[0]], strict=True))
        # Suggest the edge that points forward in the list: usually the one added by mistake.
        src, dst = next(((a, b) for a, b in edges if graph.index[a] < graph.index[b]), edges[-1])
        issues.append(
            Issue(
                code="dependency_cycle",
                task_id=cycle[0],
                path=path_of("tasks", graph.index[cycle[0]], "dependencies"),
                message=f"dependency cycle {shown} ('a -> b' means a depends on b): "
                f"tasks {_quote(cycle)} wait for each other and can never start",
                hint=f'break the cycle: remove "{dst}" from the dependencies of "{src}"',
            )
        )
    return issues


def _roots(spec: TaskTreeSpec, graph: SpecGraph, ends: dict[str, str], taken: Taken) -> list[Issue]:
    roots = [t for t in spec.tasks if t.parent_id is None]
    if not roots:
        new = new_root_id(taken())
        return [
            Issue(
                code="no_root",
                message="no task has parent_id null, so the tree has no root",
                hint="add a root task "
                + _ROOT_EXAMPLE % (new, AGGREGATOR, '["<top-level task ids>"]')
                + f' and set parent_id of the top-level tasks to "{new}"',
                fixable=True,
            )
        ]
    if len(roots) > 1:
        ids = [t.id for t in roots]
        aggregators = [t.id for t in roots if t.executor == AGGREGATOR]
        if len(aggregators) == 1:
            others = [i for i in ids if i != aggregators[0]]
            hint = (
                f'set parent_id of {_quote(others)} to "{aggregators[0]}" and add them to '
                f'the dependencies of "{aggregators[0]}"'
            )
        else:
            new = new_root_id(taken())
            hint = (
                "add one root task "
                + _ROOT_EXAMPLE % (new, AGGREGATOR, json.dumps(ids))
                + f' and set parent_id of {_quote(ids)} to "{new}"'
            )
        return [
            Issue(
                code="multiple_roots",
                message=f"{len(ids)} tasks have parent_id null ({_quote(ids)}); "
                "a tree has exactly one root",
                hint=hint,
                fixable=True,
            )
        ]
    root = roots[0]
    return _unreachable(spec, graph, root.id, ends) + _aggregator_root(spec, graph, root.id, taken)


def _unreachable(
    spec: TaskTreeSpec, graph: SpecGraph, root_id: str, ends: dict[str, str]
) -> list[Issue]:
    issues = []
    for tid, i in graph.index.items():
        end = ends.get(tid, "")
        task = spec.tasks[i]
        if end.startswith("root:") or end == "loop" or task.parent_id not in graph.index:
            continue  # under the root, or already reported as parent_cycle / missing_parent
        orphan = end.removeprefix("missing:")
        issues.append(
            Issue(
                code="unreachable_task",
                task_id=tid,
                path=path_of("tasks", i, "parent_id"),
                message=f"the task is not under the root {root_id!r}: its parent chain ends at "
                f"{orphan!r}, whose parent does not exist",
                hint=f'set parent_id of "{orphan}" to "{root_id}"',
                fixable=True,
            )
        )
    return issues


def _aggregator_root(
    spec: TaskTreeSpec, graph: SpecGraph, root_id: str, taken: Taken
) -> list[Issue]:
    root = spec.tasks[graph.index[root_id]]
    top = list(
        dict.fromkeys(t.id for t in spec.tasks if t.parent_id == root_id and t.id != root_id)
    )
    executors = {t.executor for t in spec.tasks}
    where = graph.index[root_id]
    if root.executor != AGGREGATOR:
        if len(executors) < 2 and not top:
            return []
        new = new_root_id(taken())
        return [
            Issue(
                code="non_aggregator_root",
                task_id=root_id,
                path=path_of("tasks", where, "schemas", "method"),
                message=f"the root runs {root.executor!r}, but a tree with children or several "
                f"executors needs an {AGGREGATOR} root that collects the results",
                hint="add a new root "
                + _ROOT_EXAMPLE % (new, AGGREGATOR, json.dumps([root_id]))
                + f' and set parent_id of "{root_id}" to "{new}"',
                fixable=True,
            )
        ]
    declared = set(root.dependency_ids())
    missing = [tid for tid in top if tid not in declared]
    if not missing:
        return []
    return [
        Issue(
            code="non_aggregator_root",
            task_id=root_id,
            path=path_of("tasks", where, "dependencies"),
            message=f"the root does not depend on the top-level task(s) {_quote(missing)}, so it "
            "would not wait for them or collect their results",
            hint=f'add {_quote(missing)} to the dependencies of "{root_id}" '
            '(use "required": false to collect results even when they fail)',
            fixable=not any(graph.depends_on(tid, root_id) for tid in missing),
        )
    ]
