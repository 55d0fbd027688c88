"""apflow.core.events: committed state changes reach subscribers, batched per commit."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from apflow.core import events
from apflow.core.database import create_session
from apflow.core.engine import TaskManager


async def _tree(repo, *, fail_second: bool = False, sleep: float = 0.0):
    root = await repo.create_task(name="root", schemas={"method": "echo"})
    first = await repo.create_task(
        name="first", parent_id=root.id, schemas={"method": "echo"}, inputs={"sleep": sleep}
    )
    second = await repo.create_task(
        name="second",
        parent_id=root.id,
        schemas={"method": "fail" if fail_second else "echo"},
        dependencies=[first.id],
    )
    await repo.update_task(root.id, dependencies=[first.id, second.id])
    return root, first, second


async def test_subscribers_hear_every_status_of_a_run_in_order(manager, repo):
    root, first, second = await _tree(repo, fail_second=True)
    heard: list[tuple[str, list[tuple[str, str]]]] = []
    unsubscribe = events.subscribe(
        lambda root_id, tasks: heard.append((root_id, [(t.name, t.status) for t in tasks]))
    )
    try:
        await manager.run_tree(root.id)
    finally:
        unsubscribe()

    assert {root_id for root_id, _ in heard} == {root.id}
    by_task: dict[str, list[str]] = {}
    for _, batch in heard:
        for name, status in batch:
            if not by_task.get(name) or by_task[name][-1] != status:
                by_task.setdefault(name, []).append(status)
    assert by_task["first"] == ["in_progress", "completed"]
    assert by_task["second"] == ["in_progress", "failed"]
    assert by_task["root"] == ["failed"]  # its required dependency failed
    # One call per commit, not one per task: the scheduler flushes once per round.
    assert len(heard) <= 6


async def test_unsubscribed_and_failing_listeners(manager, repo, caplog):
    root, *_ = await _tree(repo)
    heard: list[str] = []

    def broken(root_id, tasks):
        raise RuntimeError("listener bug")

    unsubscribe_broken = events.subscribe(broken)
    unsubscribe = events.subscribe(lambda root_id, tasks: heard.append(root_id))
    unsubscribe()
    try:
        with caplog.at_level(logging.ERROR, logger="apflow"):
            await manager.run_tree(root.id)
    finally:
        unsubscribe_broken()
    assert heard == []
    assert not events.has_listeners()
    assert (await repo.get_task_by_id(root.id)).status == "completed"
    assert "listener bug" in caplog.text


async def test_cancel_through_the_database_is_heard(session, registry, repo):
    root, first, second = await _tree(repo)
    heard: list[tuple[str, str]] = []
    unsubscribe = events.subscribe(
        lambda root_id, tasks: heard.extend((t.id, t.status) for t in tasks)
    )
    try:
        # A manager that is not running the tree cancels it through the database.
        count = await TaskManager(session, registry=registry).cancel(root.id)
    finally:
        unsubscribe()
    assert count == 3
    assert sorted(heard) == sorted((t.id, "cancelled") for t in (root, first, second))


async def test_listeners_are_called_after_the_commit(tmp_path, registry):
    """A reader on another connection already sees what a listener is told."""
    path = tmp_path / "events.db"
    session = create_session(f"sqlite+aiosqlite:///{path}")
    try:
        manager = TaskManager(session, registry=registry)
        root, *_ = await _tree(manager.task_repository, sleep=0.05)
        mismatches: list[tuple[str, str, str]] = []
        checked = 0

        def check(root_id, tasks):
            nonlocal checked
            with sqlite3.connect(path) as reader:
                for t in tasks:
                    (stored,) = reader.execute(
                        "select status from tasks where id = ?", (t.id,)
                    ).fetchone()
                    checked += 1
                    if stored != t.status:
                        mismatches.append((t.name, t.status, stored))

        unsubscribe = events.subscribe(check)
        try:
            await asyncio.wait_for(manager.run_tree(root.id), 30)
        finally:
            unsubscribe()
        assert checked >= 6 and mismatches == []
    finally:
        await session.close()
