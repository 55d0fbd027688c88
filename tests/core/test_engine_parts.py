"""The engine's parts get what they need passed in, and every status change is checked.

The scheduler (TreeScheduler) and the task runner never hold the TaskManager; a ready task's
executor is called in exactly one place, :func:`invoke_executor`, which a
:class:`TaskRunner` can be given a replacement for.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import apflow.core
from apflow.core.errors import InvalidTransition
from apflow.core.models import TaskModel, change
from apflow.core.task_runner import TaskRunner

CORE = Path(apflow.core.__file__).parent


def _task(executor: str = "echo", **fields: Any) -> TaskModel:
    base = {"id": "t1", "name": "t1", "schemas": {"method": executor}, "status": "in_progress"}
    return TaskModel(**{**base, **fields})


async def test_a_task_runner_calls_its_executor_through_the_one_invoke_seam(registry):
    calls = []

    async def invoke(executor, inputs, timeout):
        calls.append((executor.id, inputs, timeout))
        return await executor.execute(inputs)

    runner = TaskRunner(registry, default_timeout=7, invoke=invoke)
    task = _task(inputs={"value": 3}, params={"retries": 2}, dependencies=[])
    outcome = await runner.run(task, lambda ref: None, lambda t, i: None)
    assert outcome["status"] == "completed" and outcome["result"] == 3
    assert calls == [("echo", {"value": 3}, 7)]


async def test_retries_go_through_the_seam_once_per_attempt(registry):
    calls = []

    async def invoke(executor, inputs, timeout):
        calls.append(timeout)
        return await executor.execute(inputs)

    runner = TaskRunner(registry, retry_backoff=0.0, invoke=invoke)
    task = _task(
        executor="fail",
        inputs={"retryable": True},
        params={"retries": 2, "timeout": 4},
        dependencies=[],
    )
    outcome = await runner.run(task, lambda ref: None, lambda t, i: None)
    assert outcome["status"] == "failed" and outcome["attempts"] == 3
    assert calls == [4, 4, 4]


async def test_a_timeout_raised_by_the_seam_is_a_retryable_timeout_failure(registry):
    async def invoke(executor, inputs, timeout):
        raise TimeoutError

    outcome = await TaskRunner(registry, invoke=invoke).run(
        _task(dependencies=[]), lambda ref: None, lambda t, i: None
    )
    assert outcome["error_type"] == "timeout" and outcome["retryable"] is True


def test_change_refuses_an_illegal_transition_and_leaves_the_task_as_it_was():
    task = _task(status="completed", result=1)
    with pytest.raises(InvalidTransition, match="completed -> cancelled"):
        change(task, status="cancelled", error="x")
    assert task.status == "completed" and task.error is None
    assert change(task) == "completed"  # no status given: no transition to check


def test_scheduler_and_task_runner_never_reach_back_to_the_engine():
    for name in ("scheduler.py", "task_runner.py"):
        tree = ast.parse((CORE / name).read_text())
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "apflow.core.engine" not in modules, name
    for name in ("engine.py", "scheduler.py", "task_runner.py"):
        text = (CORE / name).read_text()
        assert "._hook_repository" not in text and ".m." not in text, name


async def test_cancelling_a_stored_tree_goes_through_the_transition_check(manager, repo):
    root = await repo.create_task(name="root", schemas={"method": "echo"})
    done = await repo.create_task(name="done", schemas={"method": "echo"}, parent_id=root.id)
    await repo.update_task(done.id, status="in_progress")
    await repo.update_task(done.id, status="completed", result=1)
    assert await manager.cancel(root.id) == 1
    assert (await repo.get_task_by_id(root.id)).status == "cancelled"
    kept = await repo.get_task_by_id(done.id)
    assert kept.status == "completed" and kept.result == 1


async def test_a_cancel_that_comes_while_the_tree_is_starting_sticks(manager, repo, recorder):
    import asyncio

    root = await repo.create_task(name="root", schemas={"method": "echo"})
    await repo.create_task(name="leaf", schemas={"method": "echo"}, parent_id=root.id)
    job = asyncio.create_task(manager.run_tree(root.id))
    await asyncio.sleep(0)  # started, still loading the tree
    assert await manager.cancel(root.id) == 2
    await job
    assert recorder.calls == []
    assert {t.status for t in await repo.get_tree(root.id)} == {"cancelled"}


async def test_a_cancel_through_the_database_before_the_start_sticks(
    manager, repo, recorder, db_url, registry
):
    """Another process cancels a stored tree before its starter began: the start keeps it
    cancelled (a resume with run_tree would run it again, on purpose)."""
    from apflow import TaskManager, TaskTreeNode, create_session

    root = await repo.create_task(name="root", schemas={"method": "echo"})
    leaf = await repo.create_task(name="leaf", schemas={"method": "echo"}, parent_id=root.id)
    elsewhere = create_session(db_url)
    try:
        assert await TaskManager(elsewhere, registry=registry).cancel(root.id) == 2
    finally:
        await elsewhere.close()
    node = TaskTreeNode(root)
    node.add_child(TaskTreeNode(leaf))
    await manager.distribute_task_tree(node)
    assert recorder.calls == []
    assert {t.status for t in await repo.get_tree(root.id)} == {"cancelled"}
