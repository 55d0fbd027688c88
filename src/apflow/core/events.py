"""Committed state changes as ``listener(root_id, tasks)``: a thin adapter of the event bus.

The bus's ``task:committed`` event (:class:`apflow.core.bus.TasksCommitted`) is the same
thing; new code subscribes to it there (``current_bus().subscribe(...)``). This module
keeps the older two-argument form working on the current bus.

Why a commit event beside ``task:state`` (and ``TaskManager(on_state_change=...)``): those
fire *before* the change is stored; a watcher that reads the database in response (the web
console) needs each batch *after* the commit that stored it. Listeners are called on the
engine's event loop once per scheduling round (one call per commit, not per task) and must
return quickly; an exception in one is logged and never reaches the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from apflow.core.bus import EventKind, TasksCommitted, current_bus

if TYPE_CHECKING:
    from apflow.core.models import TaskModel

#: ``listener(root_id, tasks)``: the tasks of tree ``root_id`` whose state was just committed.
CommitListener = Callable[[str, "Sequence[TaskModel]"], object]


def subscribe(listener: CommitListener) -> Callable[[], None]:
    """Call ``listener(root_id, tasks)`` after every committed batch of task state changes.

    Returns a function that unsubscribes it. The task objects are the engine's own: read
    what you need during the call and keep no reference to them.
    """

    def on_commit(event: TasksCommitted) -> None:
        listener(event.root_id, event.tasks)

    on_commit.__qualname__ = f"commit listener {getattr(listener, '__qualname__', listener)}"
    return current_bus().subscribe(EventKind.TASK_COMMITTED, on_commit)


def has_listeners() -> bool:
    """Whether anything on the current bus hears committed state changes."""
    return current_bus().listening(EventKind.TASK_COMMITTED)


def publish(root_id: str, tasks: Sequence[TaskModel]) -> None:
    """Tell the current bus that ``tasks`` of tree ``root_id`` were committed (engine only)."""
    if tasks:
        current_bus().publish(TasksCommitted(root_id=root_id, tasks=tuple(tasks)))
