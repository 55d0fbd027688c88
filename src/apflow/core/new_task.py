"""``create_task``: the one way a new task is made, stored now or by the run that takes it.

``apflow.create_task(name=..., ...)`` returns the task without storing it;
``TaskRepository.create_task`` builds it with this same function and stores it at once.
Either task is accepted by ``TaskTreeNode``, ``distribute_task_tree`` (which stores the
tasks of its tree that are not stored yet) and ``run_tasks``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apflow.core.errors import ApflowError
from apflow.core.models import (
    DEFAULT_PRIORITY,
    MAX_ID,
    MAX_NAME,
    MAX_PRIORITY,
    MAX_USER_ID,
    MIN_PRIORITY,
    TaskModel,
    new_id,
    utcnow,
)
from apflow.core.states import TaskStatus
from apflow.core.task_fields import expand_bare_ids

__all__ = ["check_priority", "check_text_fields", "create_task", "normalize_dependencies"]


def normalize_dependencies(dependencies: Iterable[Any] | None) -> list[dict[str, Any]]:
    """Accept ids, tasks or ``{"id", "required"}`` entries; return ``[{"id", "required"}]``."""
    out: list[dict[str, Any]] = []
    expanded = expand_bare_ids(dependencies)
    for dep in expanded if isinstance(expanded, list) else list(expanded):
        if isinstance(dep, dict) and isinstance(dep.get("id"), str):
            out.append({"id": dep["id"], "required": bool(dep.get("required", True))})
        elif hasattr(dep, "id"):  # a TaskModel or spec object
            out.append({"id": dep.id, "required": bool(getattr(dep, "required", True))})
        else:
            raise ApflowError(
                f"bad dependency entry {dep!r}",
                hint='use a task id string or {"id": "...", "required": true}',
            )
    return out


def check_priority(priority: Any) -> int:
    if (
        isinstance(priority, bool)
        or not isinstance(priority, int)
        or not MIN_PRIORITY <= priority <= MAX_PRIORITY
    ):
        raise ApflowError(
            f"priority must be an integer {MIN_PRIORITY}..{MAX_PRIORITY}, got {priority!r}",
            hint="0 = most urgent, 2 = normal (default), 3 = low",
        )
    return priority


_TEXT_LIMITS = {"name": MAX_NAME, "user_id": MAX_USER_ID, "id": MAX_ID, "parent_id": MAX_ID}


def check_text_fields(fields: dict[str, Any]) -> None:
    """Refuse a name or id every database would not store as given.

    Why: SQLite stores any length and NUL characters in these VARCHAR columns, PostgreSQL
    refuses both; checking here makes the two behave the same, with a clear message.
    """
    for field, limit in _TEXT_LIMITS.items():
        value = fields.get(field)
        if not isinstance(value, str):
            continue
        if len(value) > limit:
            raise ApflowError(
                f"task {field} is {len(value)} characters long; at most {limit} are stored",
                hint=f"shorten the {field}",
            )
        if "\x00" in value:
            raise ApflowError(f"task {field} contains a NUL character", hint="remove it")


def create_task(
    name: str,
    *,
    executor: str | None = None,
    user_id: str | None = None,
    parent_id: str | None = None,
    dependencies: Iterable[Any] | None = None,
    priority: int = DEFAULT_PRIORITY,
    inputs: dict[str, Any] | None = None,
    schemas: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    id: str | None = None,
) -> TaskModel:
    """A new pending task, not stored yet (its ``id`` is final: others may depend on it).

    The executor is ``executor``, else ``schemas["method"]``, else the task's ``name``.
    ``dependencies`` take task ids, tasks or ``{"id": ..., "required": bool}``.
    Raises ApflowError for an empty name, inputs that are not a dict, a priority outside
    0..3, or a name or id too long to store.
    """
    if not isinstance(name, str) or not name.strip():
        raise ApflowError("task name must be a non-empty string")
    if inputs is not None and not isinstance(inputs, dict):
        raise ApflowError(f"task inputs must be a dict, got {type(inputs).__name__}")
    check_text_fields({"name": name, "user_id": user_id, "parent_id": parent_id, "id": id})
    schemas = dict(schemas or {})
    if executor is not None:
        schemas["method"] = executor
    now = utcnow()
    return TaskModel(
        id=id or new_id(),
        name=name,
        user_id=user_id,
        parent_id=parent_id,
        dependencies=normalize_dependencies(dependencies),
        priority=check_priority(priority),
        inputs=dict(inputs or {}),
        schemas=schemas,
        params=dict(params or {}),
        status=TaskStatus.PENDING.value,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
