"""Live tree updates: engine commits in, small batched state messages out.

The engine publishes ``task:committed`` on the event bus after each commit;
:class:`LiveUpdates` keeps, per tree, the browsers watching it and hands each one the
latest state of every task that changed. A watcher sends at most one batch per
:data:`BATCH_SECONDS`, so a tree of thousands of fast tasks costs a browser a few messages
a second, not one per change.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from apflow.core.bus import EventBus, EventKind, TasksCommitted, current_bus
from apflow.core.models import TaskModel

#: At most one message per watcher in this many seconds.
BATCH_SECONDS = 0.25
#: Longest error text sent live (the task's detail view has all of it).
LIVE_ERROR_CHARS = 300


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def task_state(task: TaskModel) -> dict[str, Any]:
    """What a graph node needs to redraw itself: small, whatever the task's result is."""
    error = task.error
    if error and len(error) > LIVE_ERROR_CHARS:
        error = error[:LIVE_ERROR_CHARS] + "…"
    return {
        "id": task.id,
        "status": task.status,
        "error": error,
        "error_type": task.error_type,
        "attempts": task.attempts,
        "started_at": iso(task.started_at),
        "completed_at": iso(task.completed_at),
    }


class Watcher:
    """One browser's view of one tree: the newest state of each task not yet sent."""

    def __init__(self) -> None:
        self._pending: dict[str, dict[str, Any]] = {}
        self._changed = asyncio.Event()
        self._last_sent = 0.0
        #: Set when the server stops: the stream ends instead of waiting for more.
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self._changed.set()

    def push(self, states: Iterable[dict[str, Any]]) -> None:
        for state in states:
            self._pending[state["id"]] = state
        self._changed.set()

    async def next_batch(self, timeout: float) -> list[dict[str, Any]]:
        """The states changed since the last batch ([] after ``timeout`` s of quiet)."""
        if not self._pending and not self.closed:
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                return []
        # Gather what else arrives until this watcher's next slot.
        delay = self._last_sent + BATCH_SECONDS - time.monotonic()
        if delay > 0 and not self.closed:
            await asyncio.sleep(delay)
        batch = list(self._pending.values())
        self._pending.clear()
        self._changed.clear()
        self._last_sent = time.monotonic()
        return batch


class LiveUpdates:
    """Subscribes to engine commits while started; fans them out to watchers by tree.

    ``bus``: where commits are heard (default: the current bus when started).
    """

    def __init__(self, bus: EventBus | None = None) -> None:
        self.bus = bus
        self._watchers: dict[str, set[Watcher]] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        bus = self.bus if self.bus is not None else current_bus()
        self._unsubscribe = bus.subscribe(EventKind.TASK_COMMITTED, self._on_event)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def close(self) -> None:
        """End every open stream (the server is stopping)."""
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.close()

    def watch(self, root_id: str) -> Watcher:
        watcher = Watcher()
        self._watchers.setdefault(root_id, set()).add(watcher)
        return watcher

    def forget(self, root_id: str, watcher: Watcher) -> None:
        watchers = self._watchers.get(root_id)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._watchers[root_id]

    def _on_event(self, event: TasksCommitted) -> None:
        self._on_commit(event.root_id, event.tasks)

    def _on_commit(self, root_id: str, tasks: Sequence[TaskModel]) -> None:
        if root_id not in self._watchers:
            return
        states = [task_state(t) for t in tasks]  # copied now: the engine keeps changing them
        if threading.get_ident() == self._thread:
            self._deliver(root_id, states)
        elif self._loop is not None and not self._loop.is_closed():
            # A tree run by an engine on another thread's loop (a script using the library).
            self._loop.call_soon_threadsafe(self._deliver, root_id, states)

    def _deliver(self, root_id: str, states: list[dict[str, Any]]) -> None:
        for watcher in list(self._watchers.get(root_id, ())):
            watcher.push(states)
