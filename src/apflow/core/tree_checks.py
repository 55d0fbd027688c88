"""Checks a stored tree must pass before it runs.

Every problem is collected in one pass (missing dependencies or ones outside the tree,
self-dependencies, cycles, undeclared or malformed references) so the error names
every offending task at once.
"""

from __future__ import annotations

from collections.abc import Callable

from apflow.core import references
from apflow.core.graphs import strongly_connected
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
            if isinstance(ref, references.InvalidReference):
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
    """The tasks on a dependency cycle (self-dependencies are reported on their own)."""
    edges: dict[str, list[str]] = {tid: [] for tid in tasks}
    for t in tasks.values():
        for dep in t.dependencies or []:
            dep_id = resolve(dep["id"])
            if dep_id in tasks and dep_id != t.id:
                edges[t.id].append(dep_id)
    stuck = [tid for group in strongly_connected(edges) if len(group) > 1 for tid in group]
    if not stuck:
        return []
    cyclic = sorted(stuck, key=order.__getitem__)
    return [f"dependency cycle among tasks: {', '.join(cyclic)}"]
