"""``create_task`` and ``run_tasks``: the guide's way of building a tree in Python.

The best-practices guide writes ``fetch = create_task(name="fetch_data", ...)`` and then
refers to ``fetch.id`` in other tasks' dependencies. :func:`create_task` (the core's, kept
importable from here) builds such a task without storing it; :func:`run_tasks` validates a
list of them, adds the aggregator root when there is none, stores them with the ids they
already have, and runs them.
"""

from __future__ import annotations

from typing import Any

from apflow.core.graphs import implied_root_dependencies
from apflow.core.models import DEFAULT_PRIORITY, TaskModel, new_id
from apflow.core.new_task import create_task
from apflow.core.registry import ExecutorRegistry
from apflow.service.trees import Service
from apflow.spec import AGGREGATOR

__all__ = ["create_task", "run_tasks", "tree_of"]


def tree_of(tasks: list[TaskModel]) -> list[dict[str, Any]]:
    """The tasks as a tree (flat list), with an aggregator root over the top-level ones
    added unless the tasks already have a single aggregator root.

    The added root depends on every task: required on the sinks (tasks nothing else
    depends on), optional on the others.
    """
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "parent_id": t.parent_id,
            "dependencies": list(t.dependencies or []),
            "schemas": {"method": t.executor_id},
            "inputs": dict(t.inputs or {}),
            "priority": DEFAULT_PRIORITY if t.priority is None else t.priority,
            "params": dict(t.params or {}),
        }
        for t in tasks
    ]
    top = [r for r in rows if r["parent_id"] is None]
    if len(top) == 1 and top[0]["schemas"]["method"] == AGGREGATOR:
        return rows
    root_id = new_id()
    for row in top:
        row["parent_id"] = root_id
    root: dict[str, Any] = {"id": root_id, "name": "root", "schemas": {"method": AGGREGATOR}}
    # The engine's rule for an aggregator root that declares nothing, written out: required
    # on the sinks, optional on the rest, so a failure an optional dependent absorbed (the
    # guide's fallback) does not fail the tree, and the root still reports it.
    pairs = [(root_id, [])] + [(r["id"], [d["id"] for d in r["dependencies"]]) for r in rows]
    root["dependencies"] = implied_root_dependencies(root_id, pairs)
    return [root, *rows]


async def run_tasks(
    tasks: list[TaskModel],
    *,
    db: str | None = None,
    registry: ExecutorRegistry | None = None,
    user_id: str | None = None,
) -> list[TaskModel]:
    """Validate ``tasks`` (made with :func:`create_task`), store them and run them.

    The aggregator root is added when missing. Returns every stored task at the end, root
    first; each keeps the id it was created with. An invalid tree raises ValidationFailed
    listing every issue, and nothing is stored.
    """
    service = Service(db, registry=registry)
    spec = service.valid_spec(tree_of(tasks))
    return await service.store_and_run(spec, user_id=user_id, keep_ids=True)
