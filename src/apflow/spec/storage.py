"""create_tree: store a spec as tasks, all in one transaction, and hand back the node tree."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from apflow.core.bus import EventBus, EventKind, TreeEvent, current_bus
from apflow.core.errors import ValidationFailed
from apflow.core.models import new_id
from apflow.core.repository import TaskRepository
from apflow.core.tree import TaskTreeNode
from apflow.spec.models import TaskTreeSpec
from apflow.spec.parse import parse_tree
from apflow.spec.validator import structural_report


def spec_rows(
    spec: TaskTreeSpec, user_id: str | None = None, *, keep_ids: bool = False
) -> list[dict[str, Any]]:
    """``TaskRepository.create_tasks`` rows: fresh stored ids (or the spec's own, with
    ``keep_ids``), links remapped, spec id in params."""
    stored = {task.id: task.id if keep_ids else new_id() for task in spec.tasks}
    rows = []
    for task in spec.tasks:
        params = task.params.model_dump(mode="json", exclude_none=True)
        params["spec_id"] = task.id
        rows.append(
            {
                "id": stored[task.id],
                "name": task.name or task.executor,
                "user_id": user_id,
                "parent_id": stored[task.parent_id] if task.parent_id else None,
                "dependencies": [
                    {"id": stored[d.id], "required": d.required} for d in task.dependencies
                ],
                "priority": task.priority,
                "inputs": dict(task.inputs),
                "schemas": task.schemas.model_dump(mode="json"),
                "params": params,
            }
        )
    return rows


async def create_tree(
    session: AsyncSession,
    spec: Any,
    user_id: str | None = None,
    *,
    keep_ids: bool = False,
    bus: EventBus | None = None,
) -> TaskTreeNode:
    """Store every task of ``spec`` (all or nothing) and return the root node.

    Publishes ``tree:stored`` on ``bus`` (default: the current bus) once it is stored.

    Stored ids are fresh unless ``keep_ids`` (the spec's ids are then the stored ones, as
    for tasks made with ``apflow.create_task``).

    Validating against the registry is the caller's job (``validate_tree``); a tree that is
    structurally broken (cycles, dangling ids, no single root) raises ValidationFailed.
    """
    spec = parse_tree(spec)
    report = structural_report(spec)
    if not report.valid:
        raise ValidationFailed(report)
    rows = spec_rows(spec, user_id, keep_ids=keep_ids)
    tasks = await TaskRepository(session).create_tasks(rows)
    root = next(t for t in tasks if t.parent_id is None)
    stored = TreeEvent(EventKind.TREE_STORED, root.id, tasks=len(tasks))
    (bus if bus is not None else current_bus()).publish(stored)
    return TaskTreeNode.from_tasks(tasks, root.id)
