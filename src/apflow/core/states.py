"""Task statuses and the transitions between them.

Every status change goes through :func:`check_transition` (the engine's through
:func:`change`), so an illegal change is a loud bug rather than silently corrupted state.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm.attributes import set_committed_value

from apflow.core.errors import InvalidTransition

if TYPE_CHECKING:
    from apflow.core.models import TaskModel


class TaskStatus(StrEnum):
    """A task's lifecycle state; compares equal to its plain string value."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


TERMINAL_STATES = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.SKIPPED}
)
#: States a required dependency may end in that block its dependents.
BLOCKING_STATES = frozenset({TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.SKIPPED})

_ALLOWED: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset(
        {
            TaskStatus.IN_PROGRESS,
            TaskStatus.FAILED,  # a required dependency failed: it never starts
            TaskStatus.SKIPPED,
            TaskStatus.CANCELLED,
            TaskStatus.PENDING,
        }
    ),
    TaskStatus.IN_PROGRESS: frozenset(
        {
            TaskStatus.COMPLETED,
            TaskStatus.FAILED,
            TaskStatus.CANCELLED,
            TaskStatus.PENDING,  # reset on resume after a crash
        }
    ),
    # Finished tasks other than completed may be reset to pending by a resume.
    TaskStatus.FAILED: frozenset({TaskStatus.PENDING}),
    TaskStatus.CANCELLED: frozenset({TaskStatus.PENDING}),
    TaskStatus.SKIPPED: frozenset({TaskStatus.PENDING}),
    TaskStatus.COMPLETED: frozenset(),
}


def check_transition(task_id: str, old: str, new: str) -> None:
    """Raise InvalidTransition unless ``old -> new`` is a legal status change."""
    if TaskStatus(new) not in _ALLOWED[TaskStatus(old)]:
        raise InvalidTransition(f"task {task_id}: illegal status change {old} -> {new}")


def change(task: TaskModel, **fields: Any) -> str:
    """Check the status change in ``fields``, then set them on ``task``; returns the old status.

    The values are set as already stored: the caller writes them (usually in a batch),
    so the session must not write them a second time.
    """
    old = task.status
    new = fields.get("status", old)
    if new != old:
        check_transition(task.id, old, new)
    for key, value in fields.items():
        set_committed_value(task, key, value)
    return old
