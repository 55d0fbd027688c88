"""LiveUpdates: engine commits reach the watchers of that tree only, batched, from any thread."""

from __future__ import annotations

import threading
import time

from apflow.core import events
from apflow.core.models import TaskModel
from apflow.ui.live import BATCH_SECONDS, LIVE_ERROR_CHARS, LiveUpdates


def task(task_id: str, status: str, error: str | None = None) -> TaskModel:
    return TaskModel(id=task_id, name=task_id, status=status, attempts=1, error=error)


async def test_only_the_trees_watchers_hear_its_commits_newest_state_per_task():
    live = LiveUpdates()
    live.start()
    try:
        mine, other = live.watch("tree-a"), live.watch("tree-b")
        events.publish("tree-a", [task("t1", "in_progress"), task("t2", "in_progress")])
        events.publish("tree-a", [task("t1", "completed", error="x" * 1000)])
        batch = await mine.next_batch(5)
        sent = time.monotonic()
        assert {s["id"]: s["status"] for s in batch} == {"t1": "completed", "t2": "in_progress"}
        error = next(s["error"] for s in batch if s["id"] == "t1")
        assert len(error) == LIVE_ERROR_CHARS + 1  # cut, with an ellipsis
        assert await other.next_batch(0.05) == []
        # The next batch waits for this watcher's next slot, gathering what arrives.
        events.publish("tree-a", [task("t2", "completed")])
        assert [s["status"] for s in await mine.next_batch(5)] == ["completed"]
        assert time.monotonic() - sent >= BATCH_SECONDS - 0.01
    finally:
        live.stop()
    assert not events.has_listeners()


async def test_commits_from_an_engine_on_another_thread_are_handed_over_safely():
    live = LiveUpdates()
    live.start()
    try:
        watcher = live.watch("tree")
        thread = threading.Thread(target=events.publish, args=("tree", [task("t", "failed")]))
        thread.start()
        thread.join()
        assert [s["status"] for s in await watcher.next_batch(5)] == ["failed"]
    finally:
        live.stop()


async def test_closing_ends_a_waiting_stream_at_once():
    live = LiveUpdates()
    live.start()
    try:
        watcher = live.watch("tree")
        live.close()
        started = time.monotonic()
        assert await watcher.next_batch(30) == []
        assert watcher.closed and time.monotonic() - started < 1
    finally:
        live.stop()
