"""Checks a stored tree must pass before it runs.

Every problem is collected in one pass (missing dependencies or ones outside the tree,
self-dependencies, cycles, undeclared or malformed references) so the error names
every offending task at once.
"""

from __future__ import annotations

from collections.abc import Callable

from apflow.core import references
from apflow.core.models import TaskModel


def find_problems(
    tasks: dict[str, TaskModel],
    external: dict[str, TaskModel],
    resolve: Callable[[str], str],
    order: dict[str, int],
) -> list[str]:
    """Every reason the tree cannot run; empty when it can.

    ``external`` holds the stored tasks outside the tree that something depends on (each
    is a problem: a task may depend only on tasks of its own tree, whose results it reads);
    ``resolve`` maps a dependency or reference id (stored id or spec id) to a stored id.
    """
    problems: list[str] = []
    for t in tasks.values():
        declared: set[str] = set()
        for dep in t.dependencies or []:
            dep_id = resolve(dep["id"])
            declared.add(dep_id)
            if dep_id == t.id:
                problems.append(f"task {t.id} ({t.name}) depends on itself")
            elif dep_id in external:
                problems.append(
                    f"task {t.id} ({t.name}) depends on {dep_id}, which is outside this tree "
                    "(a task may depend only on tasks of its own tree)"
                )
            elif dep_id not in tasks:
                problems.append(f"task {t.id} ({t.name}) depends on missing task {dep['id']}")
        for _path, raw, ref in references.find_references(t.inputs or {}):
            if isinstance(ref, references.ReferenceError_):
                problems.append(f"task {t.id} ({t.name}): {ref}")
            elif resolve(ref.task_id) not in declared:
                problems.append(
                    f"task {t.id} ({t.name}) references {raw} but does not depend on {ref.task_id}"
                )
    problems.extend(cycle_problems(tasks, resolve, order))
    return problems


def cycle_problems(
    tasks: dict[str, TaskModel], resolve: Callable[[str], str], order: dict[str, int]
) -> list[str]:
    """Tasks on a dependency cycle (Kahn's algorithm, both directions).

    Forward peeling leaves the cycles and everything downstream of them; peeling
    the remainder backwards drops the merely-downstream tasks, so only the
    offending ids are named.
    """
    indegree = {tid: 0 for tid in tasks}
    edges: dict[str, list[str]] = {tid: [] for tid in tasks}
    for t in tasks.values():
        for dep in t.dependencies or []:
            dep_id = resolve(dep["id"])
            if dep_id in tasks and dep_id != t.id:
                edges[dep_id].append(t.id)
                indegree[t.id] += 1
    queue = [tid for tid, n in indegree.items() if n == 0]
    while queue:
        tid = queue.pop()
        for nxt in edges[tid]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                queue.append(nxt)
    stuck = {tid for tid, n in indegree.items() if n > 0}
    if not stuck:
        return []
    outdegree = {tid: sum(1 for nxt in edges[tid] if nxt in stuck) for tid in stuck}
    queue = [tid for tid, n in outdegree.items() if n == 0]
    while queue:
        tid = queue.pop()
        stuck.discard(tid)
        for dep in tasks[tid].dependencies or []:
            dep_id = resolve(dep["id"])
            if dep_id in stuck and dep_id != tid:
                outdegree[dep_id] -= 1
                if outdegree[dep_id] == 0:
                    queue.append(dep_id)
    cyclic = sorted(stuck, key=order.__getitem__)
    return [f"dependency cycle among tasks: {', '.join(cyclic)}"]
