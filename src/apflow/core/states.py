"""Task statuses and the transitions between them.

Every status change goes through :func:`check_transition` (the engine's through
:func:`apflow.core.models.change`), so an illegal change is a loud bug rather than silently
corrupted state. This module imports no SQLAlchemy: ``apflow validate`` and the CLI use it.
"""

from __future__ import annotations

from enum import StrEnum

from apflow.core.errors import InvalidTransition


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
