"""The engine behaves the same whichever runner executes its tasks.

Each test runs twice: with LocalRunner (executors in this process) and with DaskRunner on
the session's 2-worker local cluster (executors in worker processes). The assertions are
the same and read only what the engine stored, since a worker is another process.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from apflow.core.database import create_session
from apflow.core.engine import TaskManager
from apflow.core.registry import ExecutorRegistry
from apflow.core.runners import LocalRunner
from tests.core.runner_executors import ALL


@pytest.fixture(params=["local", "dask"])
async def runner(request):
    if request.param == "local":
        yield LocalRunner()
        return
    cluster = request.getfixturevalue("dask_cluster")
    from apflow.core.runners.dask import DaskRunner

    async with DaskRunner(cluster.scheduler_address) as dask_runner:
        yield dask_runner


@pytest.fixture
async def manager(db_url, runner):
    registry = ExecutorRegistry()
    for cls in ALL:
        registry.register(cls)
    session = create_session(db_url)
    yield TaskManager(session, registry=registry, runner=runner, retry_backoff=0.01)
    await session.close()


async def add(manager, name, executor="rt_echo", *, deps=(), parent=None, **fields):
    return await manager.task_repository.create_task(
        name=name,
        schemas={"method": executor},
        parent_id=parent.id if parent else None,
        dependencies=list(deps),
        **fields,
    )


async def stored(manager, task):
    return await manager.task_repository.get_task_by_id(task.id)


def ran_in_worker(runner, pid: int) -> bool:
    return (pid != os.getpid()) == (not isinstance(runner, LocalRunner))


async def test_dependencies_results_and_context_reach_the_executor(manager, runner):
    root = await add(manager, "root", inputs={"value": "r"})
    first = await add(
        manager, "first", parent=root, inputs={"value": {"user": "Ann"}}, params={"spec_id": "a"}
    )
    second = await add(
        manager,
        "second",
        parent=root,
        deps=[first.id],
        inputs={"greeting": "hi ${a.result.user}"},
    )
    await manager.run_tree(root.id)
    row = await stored(manager, second)
    assert row.status == "completed", row.error
    assert row.result["name"] == "second"
    assert row.result["dependencies"] == ["a"]
    assert row.result["inputs"] == {"greeting": "hi Ann", "a": {"user": "Ann"}}
    assert ran_in_worker(runner, row.result["pid"])
    assert (await stored(manager, first)).started_at >= (await stored(manager, root)).created_at


async def test_optional_dependency_runs_after_a_failure_and_a_required_one_fails(manager):
    root = await add(manager, "root")
    primary = await add(manager, "primary", "rt_fail", parent=root, inputs={"error_type": "x"})
    backup = await add(manager, "backup", parent=root, deps=[{"id": primary.id, "required": False}])
    strict = await add(manager, "strict", parent=root, deps=[primary.id])
    after = await add(manager, "after", parent=root, deps=[strict.id])
    await manager.run_tree(root.id)
    states = {t.name: ((await stored(manager, t)).status) for t in (primary, backup, strict, after)}
    assert states == {
        "primary": "failed",
        "backup": "completed",
        "strict": "failed",  # a required dependency failed: it never started
        "after": "failed",
    }
    assert (await stored(manager, strict)).error_type == "dependency_failed"


async def test_failures_raised_and_malformed_results_are_recorded(manager):
    root = await add(manager, "root")
    raised = await add(manager, "raised", "rt_fail", parent=root, inputs={"raise": "bad input"})
    junk = await add(manager, "junk", "rt_fail", parent=root, inputs={"junk": True})
    await manager.run_tree(root.id)
    raised_row, junk_row = await stored(manager, raised), await stored(manager, junk)
    assert (raised_row.status, raised_row.error_type, raised_row.error) == (
        "failed",
        "ValueError",
        "bad input",
    )
    assert (junk_row.status, junk_row.error_type) == ("failed", "invalid_result")


async def test_timeouts_fail_the_task_without_waiting_for_it(manager):
    root = await add(manager, "root")
    slow = await add(
        manager, "slow", "rt_sleep", parent=root, inputs={"seconds": 30}, params={"timeout": 0.3}
    )
    start = time.monotonic()
    await manager.run_tree(root.id)
    row = await stored(manager, slow)
    assert (row.status, row.error_type, row.attempts) == ("failed", "timeout", 1)
    assert time.monotonic() - start < 10


async def test_retryable_failures_are_retried_and_attempts_counted(manager, tmp_path):
    root = await add(manager, "root")
    flaky = await add(
        manager,
        "flaky",
        "rt_flaky",
        parent=root,
        inputs={"counter": str(tmp_path / "calls"), "succeed_on": 3},
        params={"retries": 3},
    )
    once = await add(
        manager,
        "once",
        "rt_flaky",
        parent=root,
        inputs={"counter": str(tmp_path / "calls-once"), "succeed_on": 5},
        params={"retries": 1},
    )
    await manager.run_tree(root.id)
    row = await stored(manager, flaky)
    assert (row.status, row.result, row.attempts) == ("completed", 3, 3)
    gave_up = await stored(manager, once)
    assert (gave_up.status, gave_up.error_type, gave_up.attempts) == ("failed", "busy", 2)


async def test_cancel_stops_running_executors_and_marks_the_tree(manager, tmp_path):
    root = await add(manager, "root")
    sleepers = [
        await add(
            manager,
            f"sleeper{i}",
            "rt_sleep",
            parent=root,
            deps=[root.id],
            inputs={
                "seconds": 60,
                "started": str(tmp_path / f"started{i}"),
                "stopped": str(tmp_path / f"stopped{i}"),
            },
        )
        for i in range(3)
    ]
    never = await add(manager, "never", parent=root, deps=[sleepers[0].id])
    run = asyncio.create_task(manager.run_tree(root.id))
    deadline = time.monotonic() + 30
    while not all((tmp_path / f"started{i}").exists() for i in range(3)):
        assert time.monotonic() < deadline, "the sleepers never started"
        await asyncio.sleep(0.02)
    cancelled_at = time.time()
    assert await manager.cancel(root.id) == 4  # three sleepers and the dependent
    await asyncio.wait_for(run, 30)
    for task in (*sleepers, never):
        assert (await stored(manager, task)).status == "cancelled"
    # The executors themselves were stopped, wherever they ran, within a few seconds.
    deadline = time.monotonic() + 10
    while not all((tmp_path / f"stopped{i}").exists() for i in range(3)):
        assert time.monotonic() < deadline, "a running executor was never cancelled"
        await asyncio.sleep(0.02)
    stopped = [float((tmp_path / f"stopped{i}").read_text()) for i in range(3)]
    assert max(stopped) - cancelled_at < 5


async def test_ready_tasks_start_by_priority(manager):
    root = await add(manager, "root", priority=0)
    tasks = [
        await add(manager, f"p{p}", parent=root, deps=[root.id], priority=p) for p in (3, 0, 2, 1)
    ]
    manager.max_concurrency = 1
    await manager.run_tree(root.id)
    rows = [await stored(manager, t) for t in tasks]
    assert all(r.status == "completed" for r in rows)
    assert [r.name for r in sorted(rows, key=lambda r: r.started_at)] == ["p0", "p1", "p2", "p3"]
