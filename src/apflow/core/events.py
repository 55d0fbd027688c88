"""Committed state changes, for watchers in this process (the web console, metrics).

Why beside ``TaskManager(on_state_change=...)``: that callback belongs to the one manager
that was given it and fires *before* the change is stored. A watcher that did not create
the manager (the web console watching a tree that the service runs) subscribes here
instead, and hears each batch *after* the commit that stored it, so a read it makes in
response sees at least that state.

Listeners are called synchronously, on the engine's event loop, once per scheduling round
(one call per commit, not per task); they must return quickly and never block. An
exception in a listener is logged and never reaches the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from apflow.core.utils.logger import get_logger

if TYPE_CHECKING:
    from apflow.core.models import TaskModel

logger = get_logger(__name__)

#: ``listener(root_id, tasks)``: the tasks of tree ``root_id`` whose state was just committed.
CommitListener = Callable[[str, "Sequence[TaskModel]"], object]

_listeners: list[CommitListener] = []


def subscribe(listener: CommitListener) -> Callable[[], None]:
    """Call ``listener(root_id, tasks)`` after every committed batch of task state changes.

    Returns a function that unsubscribes it. The task objects are the engine's own: read
    what you need during the call and keep no reference to them.
    """
    _listeners.append(listener)

    def unsubscribe() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return unsubscribe


def has_listeners() -> bool:
    return bool(_listeners)


def publish(root_id: str, tasks: Sequence[TaskModel]) -> None:
    """Tell every listener that ``tasks`` of tree ``root_id`` were committed (engine only)."""
    if not tasks:
        return
    for listener in list(_listeners):
        try:
            listener(root_id, tasks)
        except Exception:
            logger.exception("state-change listener %r failed for tree %s", listener, root_id)
