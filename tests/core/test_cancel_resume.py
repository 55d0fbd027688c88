"""Cancellation (in-process and through the database) and resume after a crash."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

from apflow.core.database import create_session
from apflow.core.engine import TaskManager
from apflow.core.executor import BaseTask
from apflow.core.registry import ExecutorRegistry

from .conftest import stored


def blocking_registry(started: asyncio.Event, stopped: list[str]) -> ExecutorRegistry:
    class Block(BaseTask):
        id = "block"

        async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
            started.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                stopped.append(self.context.task.name)
                raise
            return {"status": "completed", "result": "never"}

    class Quick(BaseTask):
        id = "quick"

        async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
            return {"status": "completed", "result": "quick"}

    reg = ExecutorRegistry()
    reg.register(Block)
    reg.register(Quick)
    return reg


async def _tree(repo):
    root = await repo.create_task(name="root", schemas={"method": "quick"})
    done = await repo.create_task(name="done", schemas={"method": "quick"}, parent_id=root.id)
    blockers = [
        await repo.create_task(name=f"block{i}", schemas={"method": "block"}, parent_id=root.id)
        for i in range(2)
    ]
    waiting = await repo.create_task(
        name="waiting",
        schemas={"method": "quick"},
        parent_id=root.id,
        dependencies=[b.id for b in blockers],
    )
    return root, done, blockers, waiting


async def test_cancel_stops_running_tasks_and_marks_unfinished_cancelled(session):
    started, stopped = asyncio.Event(), []
    manager = TaskManager(session, registry=blocking_registry(started, stopped))
    repo = manager.task_repository
    root, done, blockers, waiting = await _tree(repo)

    run = asyncio.create_task(manager.run_tree(root.id))
    await asyncio.wait_for(started.wait(), 5)
    for _ in range(100):  # let both blockers reach their sleep
        rows = [await stored(repo, b.id) for b in blockers]
        if all(r.status == "in_progress" for r in rows):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.02)
    assert manager.is_running(root.id)
    begin = time.perf_counter()
    count = await manager.cancel(root.id)
    await asyncio.wait_for(run, 5)
    assert time.perf_counter() - begin < 1.0

    assert count == 3  # two running blockers + one waiting task
    assert sorted(stopped) == ["block0", "block1"]
    assert not manager.is_running(root.id)
    assert (await stored(repo, done.id)).status == "completed"
    assert (await stored(repo, root.id)).status == "completed"
    for task in [*blockers, waiting]:
        row = await stored(repo, task.id)
        assert (row.status, row.error_type) == ("cancelled", "cancelled"), row.name
        assert row.completed_at is not None


async def test_cancel_a_stored_tree_that_is_not_running(session, db_url):
    started, stopped = asyncio.Event(), []
    manager = TaskManager(session, registry=blocking_registry(started, stopped))
    repo = manager.task_repository
    root, done, blockers, waiting = await _tree(repo)
    await repo.update_task(done.id, status="in_progress")
    await repo.update_task(done.id, status="completed", result="kept")

    other = create_session(db_url)  # e.g. the CLI in another process
    try:
        count = await TaskManager(other).cancel(root.id)
    finally:
        await other.close()
    assert count == 4
    assert (await stored(repo, done.id)).status == "completed"
    assert (await stored(repo, done.id)).result == "kept"
    for task in [root, *blockers, waiting]:
        assert (await stored(repo, task.id)).status == "cancelled"
    assert stopped == [] and not started.is_set()


async def test_cancel_through_the_database_stops_a_run_elsewhere(session, db_url):
    started, stopped = asyncio.Event(), []
    manager = TaskManager(session, registry=blocking_registry(started, stopped))
    repo = manager.task_repository
    root = await repo.create_task(name="root", schemas={"method": "block"})
    blocker = await repo.create_task(name="b", schemas={"method": "block"}, parent_id=root.id)
    run = asyncio.create_task(manager.run_tree(root.id))
    await asyncio.wait_for(started.wait(), 5)

    other = create_session(db_url)
    try:
        await TaskManager(other).cancel(root.id)  # not running there: marks the DB
    finally:
        await other.close()
    await asyncio.wait_for(run, 5)  # the running manager notices within its poll interval
    assert sorted(stopped) == ["b", "root"]
    assert (await stored(repo, blocker.id)).status == "cancelled"


async def test_resume_reruns_unfinished_tasks_and_keeps_completed_results(db_url):
    calls: list[str] = []

    class Count(BaseTask):
        id = "count"

        async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
            calls.append(self.context.task.name)
            return {"status": "completed", "result": f"{self.context.task.name}-new"}

    reg = ExecutorRegistry()
    reg.register(Count)
    first = create_session(db_url)
    repo = TaskManager(first, registry=reg).task_repository
    root = await repo.create_task(name="root", schemas={"method": "count"})
    a = await repo.create_task(name="a", schemas={"method": "count"}, parent_id=root.id)
    b = await repo.create_task(
        name="b", schemas={"method": "count"}, parent_id=root.id, dependencies=[a.id]
    )
    c = await repo.create_task(
        name="c", schemas={"method": "count"}, parent_id=root.id, dependencies=[b.id]
    )
    await repo.update_task(root.id, dependencies=[c.id])
    # The state a crash leaves behind: a finished, b mid-flight, c and root never started.
    await repo.update_task(a.id, status="in_progress")
    await repo.update_task(a.id, status="completed", result="a-old")
    await repo.update_task(b.id, status="in_progress", attempts=1)
    a_done_at = (await stored(repo, a.id)).completed_at
    await first.close()

    second = create_session(db_url)
    try:
        manager = TaskManager(second, registry=reg)
        tree = await manager.run_tree(root.id)
        repo2 = manager.task_repository
        assert calls == ["b", "c", "root"]
        a_row = await stored(repo2, a.id)
        assert (a_row.status, a_row.result, a_row.completed_at) == ("completed", "a-old", a_done_at)
        b_row = await stored(repo2, b.id)
        assert (b_row.status, b_row.result, b_row.attempts) == ("completed", "b-new", 2)
        assert (await stored(repo2, root.id)).status == "completed"
        assert {n.task.name for n in tree.walk()} == {"root", "a", "b", "c"}
    finally:
        await second.close()


CRASHING_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from apflow.core.database import create_session
    from apflow.core.engine import TaskManager
    from apflow.core.executor import BaseTask
    from apflow.core.registry import ExecutorRegistry

    class Step(BaseTask):
        id = "step"
        async def execute(self, inputs):
            if inputs.get("hang"):
                print("HANGING", flush=True)
                await asyncio.sleep(60)
            return {"status": "completed", "result": inputs.get("value")}

    async def main(url, root_id):
        reg = ExecutorRegistry()
        reg.register(Step)
        await TaskManager(create_session(url), registry=reg).run_tree(root_id)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_resume_after_a_killed_process(db_url, tmp_path):
    """A real crash: the process running the tree is SIGKILLed mid-run."""
    calls: list[str] = []

    class Step(BaseTask):
        id = "step"

        async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
            calls.append(self.context.task.name)
            return {"status": "completed", "result": "resumed"}

    reg = ExecutorRegistry()
    reg.register(Step)
    session = create_session(db_url)
    repo = TaskManager(session, registry=reg).task_repository
    root = await repo.create_task(name="root", schemas={"method": "step"})
    first = await repo.create_task(
        name="first", schemas={"method": "step"}, parent_id=root.id, inputs={"value": "v1"}
    )
    hang = await repo.create_task(
        name="hang",
        schemas={"method": "step"},
        parent_id=root.id,
        dependencies=[first.id],
        inputs={"hang": True},
    )
    await repo.update_task(root.id, dependencies=[hang.id])
    script = tmp_path / "child.py"
    script.write_text(CRASHING_CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), db_url, root.id],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 30)
        assert line.strip() == b"HANGING"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()

    assert (await stored(repo, first.id)).status == "completed"
    assert (await stored(repo, hang.id)).status == "in_progress"  # left behind by the crash
    manager = TaskManager(session, registry=reg)
    await manager.run_tree(root.id)
    assert calls == ["hang", "root"]
    assert (await stored(repo, first.id)).result == "v1"
    assert (await stored(repo, hang.id)).status == "completed"
    assert (await stored(repo, root.id)).status == "completed"
    await session.close()


async def test_cancelling_the_run_coroutine_records_cancelled_states(session):
    """Ctrl-C / task cancellation of run_tree itself: nothing is left in_progress."""
    started, stopped = asyncio.Event(), []
    manager = TaskManager(session, registry=blocking_registry(started, stopped))
    repo = manager.task_repository
    root, done, blockers, waiting = await _tree(repo)
    run = asyncio.create_task(manager.run_tree(root.id))
    await asyncio.wait_for(started.wait(), 5)
    run.cancel()
    try:
        await run
    except asyncio.CancelledError:
        pass
    else:  # pragma: no cover - the assertion below explains
        raise AssertionError("run_tree swallowed the cancellation")
    assert stopped
    assert not manager.is_running(root.id)
    for task in [*blockers, waiting]:
        row = await stored(repo, task.id)
        assert row.status == "cancelled", row.name
        assert row.error == "run was interrupted"
