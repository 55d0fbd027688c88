"""What only the Dask runner has: dead workers, version checks, size limits, deployment errors.

All on the session's local cluster (2 worker processes); see tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time

import pytest

from apflow.core.database import create_session
from apflow.core.engine import TaskManager
from apflow.core.errors import ConfigError
from apflow.core.registry import ExecutorRegistry
from apflow.core.runners import runner_for
from tests.core.runner_executors import ALL, Echo

distributed = pytest.importorskip("distributed")

from apflow.core.runners.dask import DaskRunner  # noqa: E402
from apflow.core.runners.dask_worker import run_executor  # noqa: E402


def registry_with(*extra) -> ExecutorRegistry:
    registry = ExecutorRegistry()
    for cls in (*ALL, *extra):
        registry.register(cls)
    return registry


@pytest.fixture
async def session(db_url):
    s = create_session(db_url)
    yield s
    await s.close()


async def add(repo, name, executor="rt_echo", **fields):
    return await repo.create_task(name=name, schemas={"method": executor}, **fields)


async def test_a_worker_killed_mid_task_is_a_lost_attempt_and_the_tree_completes(
    dask_cluster, session, tmp_path
):
    async with DaskRunner(dask_cluster.scheduler_address) as runner:
        manager = TaskManager(session, registry=registry_with(), runner=runner)
        repo = manager.task_repository
        root = await add(repo, "root")
        started = tmp_path / "started"
        victim = await add(
            repo,
            "victim",
            "rt_sleep",
            parent_id=root.id,
            dependencies=[root.id],
            inputs={"seconds": 1.0, "started": str(started)},
        )
        run = asyncio.create_task(manager.run_tree(root.id))
        deadline = time.monotonic() + 30
        while not started.exists() or not started.read_text():
            assert time.monotonic() < deadline, "the task never started"
            await asyncio.sleep(0.02)
        killed = int(started.read_text())
        started.unlink()
        os.kill(killed, signal.SIGKILL)  # the worker process dies mid-task; its nanny restarts it
        await asyncio.wait_for(run, 60)
        row = await repo.get_task_by_id(victim.id)
        assert row.status == "completed", row.error
        assert row.result != killed  # finished by another worker process
        assert row.attempts == 2  # the lost run counts as an attempt (at-least-once)
        assert (await repo.get_task_by_id(root.id)).status == "completed"


def _pretend_apflow_version(version: str) -> str:
    from apflow.core.runners import dask_worker

    before = dask_worker.VERSIONS["apflow"]
    dask_worker.VERSIONS["apflow"] = version
    return before


async def test_version_mismatch_refuses_the_cluster_and_fails_tasks_on_that_worker(
    dask_cluster, session
):
    address = dask_cluster.scheduler_address
    async with DaskRunner(address) as runner:  # connected while versions still match
        manager = TaskManager(session, registry=registry_with(), runner=runner)
        client = runner.client
        await client.wait_for_workers(2, timeout=60)  # a worker killed earlier is back
        real = await client.run(_pretend_apflow_version, "0.0.0-other")
        try:
            task = await add(manager.task_repository, "mismatched", inputs={"value": 1})
            await manager.run_tree(task.id)
            row = await manager.task_repository.get_task_by_id(task.id)
            assert (row.status, row.error_type) == ("failed", "version_mismatch")
            assert "apflow 0.0.0-other (engine: " in row.error

            with pytest.raises(ConfigError) as caught:
                await DaskRunner(address).start()
            message = str(caught.value)
            for worker in real:
                assert f"Dask worker {worker} runs apflow 0.0.0-other (engine: " in message
            assert "same apflow, dask, distributed and Python versions" in message
        finally:
            for worker, version in real.items():
                await client.run(_pretend_apflow_version, version, workers=[worker])


async def test_a_result_over_the_size_limit_fails_with_a_clear_error(dask_cluster, session):
    async with DaskRunner(dask_cluster.scheduler_address, max_result_mb=1) as runner:
        manager = TaskManager(session, registry=registry_with(), runner=runner)
        repo = manager.task_repository
        root = await add(repo, "root")
        big = await add(repo, "big", "rt_big", parent_id=root.id, inputs={"mb": 2})
        small = await add(repo, "small", "rt_big", parent_id=root.id, inputs={"mb": 0})
        await manager.run_tree(root.id)
        row = await repo.get_task_by_id(big.id)
        assert (row.status, row.error_type) == ("failed", "result_too_large")
        assert "result is 2.1 MB, over the 1.0 MB" in row.error
        assert "APFLOW_DASK_MAX_RESULT_MB" in row.error
        assert (await repo.get_task_by_id(small.id)).status == "completed"


async def test_an_executor_the_workers_cannot_import_fails_naming_its_module(
    dask_cluster, session, tmp_path, monkeypatch
):
    (tmp_path / "only_here.py").write_text(
        textwrap.dedent(
            """
            from apflow.core.executor import BaseTask

            class OnlyHere(BaseTask):
                id = "only_here"

                async def execute(self, inputs):
                    return {"status": "completed", "result": 1}
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # importable here, not on the workers
    from only_here import OnlyHere

    async with DaskRunner(dask_cluster.scheduler_address) as runner:
        manager = TaskManager(session, registry=registry_with(OnlyHere), runner=runner)
        task = await add(manager.task_repository, "t", "only_here")
        await manager.run_tree(task.id)
        row = await manager.task_repository.get_task_by_id(task.id)
        assert (row.status, row.error_type) == ("failed", "executor_not_on_worker")
        assert "'only_here'" in row.error and "module 'only_here'" in row.error
    sys.modules.pop("only_here", None)


async def test_run_executor_is_usable_with_a_plain_client(dask_cluster):
    async with distributed.Client(dask_cluster.scheduler_address, asynchronous=True) as client:
        future = client.submit(run_executor, "rt_echo", {"value": 7}, 5, executor=Echo, pure=False)
        assert await future == {"status": "completed", "result": 7, "meta": None}
        # Built-in executors are found by id in the worker's own registry.
        inputs = {"data": [3, 1, 2], "operations": [{"op": "count"}]}
        future = client.submit(run_executor, "transform_executor", inputs, 5, pure=False)
        assert await future == {"status": "completed", "result": 3, "meta": None}


async def test_a_synchronous_client_is_accepted(dask_cluster, session):
    with distributed.Client(dask_cluster.scheduler_address) as blocking:
        async with DaskRunner(blocking) as runner:
            assert runner.scheduler_address == dask_cluster.scheduler_address
            manager = TaskManager(session, registry=registry_with(), runner=runner)
            task = await add(manager.task_repository, "t", inputs={"value": 5})
            await manager.run_tree(task.id)
            assert (await manager.task_repository.get_task_by_id(task.id)).result == 5


async def test_an_unreachable_scheduler_is_one_clear_error():
    runner = DaskRunner("tcp://127.0.0.1:9", connect_timeout=0.5)
    with pytest.raises(ConfigError, match="cannot connect to the Dask scheduler at"):
        await runner.start()


def test_bad_cluster_names_and_a_missing_extra_are_clear(monkeypatch):
    with pytest.raises(ConfigError, match="local:N needs a worker count"):
        runner_for("local:two")
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if apflow[dask] were missing
    with pytest.raises(ConfigError) as caught:
        runner_for("tcp://127.0.0.1:8786")
    assert str(caught.value) == (
        "running tasks on a Dask cluster needs the dask extra: pip install 'apflow[dask]'"
    )
    monkeypatch.setenv("APFLOW_DASK_ADDRESS", "tcp://127.0.0.1:8786")
    with pytest.raises(ConfigError, match="apflow\\[dask\\]"):
        _ = TaskManager(create_session("sqlite+aiosqlite:///:memory:")).runner


async def test_a_cluster_raises_the_default_concurrency_to_its_slots(dask_cluster, session):
    """150 ready tasks on 100 slots: 100 run at once (not the usual 32), results stay matched."""
    in_flight, peak = 0, 0

    def count(task, old, new):
        nonlocal in_flight, peak
        in_flight += (new == "in_progress") - (old == "in_progress")
        peak = max(peak, in_flight)

    address = dask_cluster.scheduler_address
    async with distributed.Client(address, asynchronous=True) as client:
        await client.wait_for_workers(2, timeout=60)  # a worker killed earlier is back
    async with DaskRunner(address) as runner:
        assert runner.slots() == 100
        manager = TaskManager(
            session, registry=registry_with(), runner=runner, on_state_change=count
        )
        repo = manager.task_repository
        root = await add(repo, "root", inputs={"value": "r"})
        tasks = [
            await add(
                repo,
                f"t{i}",
                parent_id=root.id,
                dependencies=[root.id],
                inputs={"value": i, "sleep": 0.3},
            )
            for i in range(150)
        ]
        await manager.run_tree(root.id)
        rows = [await repo.get_task_by_id(t.id) for t in tasks]
        assert [r.result for r in rows] == list(range(150))
        assert peak == 100


async def test_local_n_starts_a_cluster_for_the_runner_and_stops_it(session):
    runner = DaskRunner("local:1", threads_per_worker=4)
    async with runner:
        assert runner.slots() == 4
        assert runner.describe().startswith("the local Dask cluster at tcp://127.0.0.1:")
        cluster = runner._connection.cluster
        manager = TaskManager(session, registry=registry_with(), runner=runner)
        task = await add(manager.task_repository, "t")
        await manager.run_tree(task.id)
        row = await manager.task_repository.get_task_by_id(task.id)
        assert row.status == "completed" and row.result["pid"] != os.getpid()
    assert runner.client is None and cluster.status.name == "closed"
