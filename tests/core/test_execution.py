"""One task's execution: result convention, exceptions, timeouts, retries."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from apflow.core.engine import TaskManager
from apflow.core.executor import BaseTask

from .conftest import stored


@pytest.fixture
def flaky_registry(registry):
    """Executors whose behaviour is scripted per test through class attributes."""

    class Scripted(BaseTask):
        id = "scripted"
        script: list[Any] = []
        calls = 0

        async def execute(self, inputs: dict[str, Any]) -> Any:
            type(self).calls += 1
            step = type(self).script[min(type(self).calls, len(type(self).script)) - 1]
            if isinstance(step, BaseException):
                raise step
            if isinstance(step, (int, float)) and not isinstance(step, bool):
                await asyncio.sleep(step)
                return {"status": "completed", "result": "slept"}
            return step

    registry.register(Scripted)
    return registry, Scripted


async def run_one(session, registry, *, script, params=None, **kw):
    reg, cls = registry
    cls.script = list(script)
    cls.calls = 0
    manager = TaskManager(session, registry=reg, retry_backoff=0.01, **kw)
    task = await manager.task_repository.create_task(
        name="t", schemas={"method": "scripted"}, params=params or {}
    )
    await manager.run_tree(task.id)
    return await stored(manager.task_repository, task.id), cls.calls


async def test_completed_result_and_extra_keys(session, flaky_registry):
    row, _ = await run_one(
        session, flaky_registry, script=[{"status": "completed", "result": [1, 2], "note": "x"}]
    )
    assert (row.status, row.result, row.result_meta) == ("completed", [1, 2], {"note": "x"})
    assert row.error is None and row.attempts == 1
    assert row.started_at <= row.completed_at


async def test_guide_style_result_without_result_key_keeps_the_other_keys(session, flaky_registry):
    row, _ = await run_one(
        session, flaky_registry, script=[{"status": "completed", "data": {"a": 1}}]
    )
    assert (row.status, row.result) == ("completed", {"data": {"a": 1}})


async def test_executor_raising_is_failed_with_the_exception_class(session, flaky_registry):
    row, _ = await run_one(session, flaky_registry, script=[ValueError("bad value 7")])
    assert (row.status, row.error_type, row.error) == ("failed", "ValueError", "bad value 7")


async def test_non_dict_result_is_invalid_result(session, flaky_registry):
    row, _ = await run_one(session, flaky_registry, script=["just a string"])
    assert (row.status, row.error_type) == ("failed", "invalid_result")
    assert "str" in row.error


async def test_unknown_status_is_invalid_result(session, flaky_registry):
    row, _ = await run_one(session, flaky_registry, script=[{"status": "done"}])
    assert (row.status, row.error_type) == ("failed", "invalid_result")


async def test_unknown_executor_fails_the_task_with_suggestions(manager, repo):
    task = await repo.create_task(name="t", schemas={"method": "ecko"})
    await manager.run_tree(task.id)
    row = await stored(repo, task.id)
    assert (row.status, row.error_type) == ("failed", "executor_not_found")
    assert "echo" in row.error


async def test_timeout_fails_with_error_type_timeout(session, flaky_registry):
    start = time.perf_counter()
    row, calls = await run_one(session, flaky_registry, script=[5.0], params={"timeout": 0.1})
    assert time.perf_counter() - start < 2.0
    assert (row.status, row.error_type) == ("failed", "timeout")
    assert "0.1" in row.error
    assert (calls, row.attempts) == (1, 1)


async def test_default_timeout_comes_from_the_manager(session, flaky_registry):
    row, _ = await run_one(session, flaky_registry, script=[5.0], default_timeout=0.1)
    assert row.error_type == "timeout"


async def test_default_timeout_comes_from_config(session, flaky_registry, monkeypatch):
    monkeypatch.setenv("APFLOW_TASK_TIMEOUT", "0.1")
    row, _ = await run_one(session, flaky_registry, script=[5.0])
    assert row.error_type == "timeout"


async def test_retryable_failures_are_retried_and_attempts_recorded(session, flaky_registry):
    flaky = {"status": "failed", "error": "try later", "error_type": "busy", "retryable": True}
    row, calls = await run_one(
        session,
        flaky_registry,
        script=[flaky, flaky, {"status": "completed", "result": "third time"}],
        params={"retries": 3, "retry_backoff": 0.01},
    )
    assert (row.status, row.result) == ("completed", "third time")
    assert (calls, row.attempts) == (3, 3)


async def test_retries_stop_after_the_limit(session, flaky_registry):
    flaky = {"status": "failed", "error": "try later", "error_type": "busy", "retryable": True}
    row, calls = await run_one(
        session, flaky_registry, script=[flaky], params={"retries": 2, "retry_backoff": 0.01}
    )
    assert (row.status, row.error_type) == ("failed", "busy")
    assert (calls, row.attempts) == (3, 3)


async def test_non_retryable_failures_are_not_retried(session, flaky_registry):
    final = {"status": "failed", "error": "bad input", "error_type": "validation_error"}
    row, calls = await run_one(
        session, flaky_registry, script=[final], params={"retries": 3, "retry_backoff": 0.01}
    )
    assert (row.status, row.error_type, calls, row.attempts) == (
        "failed",
        "validation_error",
        1,
        1,
    )
    row, calls = await run_one(
        session, flaky_registry, script=[KeyError("k")], params={"retries": 3}
    )
    assert (row.error_type, calls) == ("KeyError", 1)


async def test_connection_errors_and_timeouts_are_retryable(session, flaky_registry):
    row, calls = await run_one(
        session,
        flaky_registry,
        script=[ConnectionError("refused"), {"status": "completed", "result": 1}],
        params={"retries": 1, "retry_backoff": 0.01},
    )
    assert (row.status, calls, row.attempts) == ("completed", 2, 2)
    row, calls = await run_one(
        session,
        flaky_registry,
        script=[5.0, {"status": "completed", "result": 2}],
        params={"retries": 2, "retry_backoff": 0.01, "timeout": 0.05},
    )
    assert (row.status, row.result, calls) == ("completed", 2, 2)


@pytest.mark.parametrize(
    "params, field",
    [({"timeout": -1}, "timeout"), ({"retries": "many"}, "retries"), ({"retries": -2}, "retries")],
)
async def test_bad_params_fail_the_task_with_a_clear_message(
    session, flaky_registry, params, field
):
    row, calls = await run_one(
        session, flaky_registry, script=[{"status": "completed"}], params=params
    )
    assert (row.status, row.error_type, calls) == ("failed", "validation_error", 0)
    assert f"params.{field}" in row.error


async def test_state_listener_sees_every_transition(session, flaky_registry):
    seen: list[tuple[str, str]] = []
    await run_one(
        session,
        flaky_registry,
        script=[{"status": "completed", "result": 1}],
        on_state_change=lambda task, old, new: seen.append((old, new)),
    )
    assert seen == [("pending", "in_progress"), ("in_progress", "completed")]


async def test_aggregate_root_collects_results_and_summary(manager, repo, registry):
    from apflow.executors.aggregate import AggregateResultsExecutor

    registry.register(AggregateResultsExecutor)
    root = await repo.create_task(name="root", schemas={"method": "aggregate_results_executor"})
    a = await repo.create_task(
        name="a",
        schemas={"method": "echo"},
        parent_id=root.id,
        inputs={"value": {"x": 1}},
        params={"spec_id": "a"},
    )
    b = await repo.create_task(name="b", schemas={"method": "fail"}, parent_id=root.id)
    c = await repo.create_task(
        name="c", schemas={"method": "echo"}, parent_id=root.id, dependencies=[b.id]
    )
    await repo.update_task(
        root.id,
        dependencies=[
            {"id": a.id, "required": False},
            {"id": b.id, "required": False},
            {"id": c.id, "required": False},
        ],
    )
    await manager.run_tree(root.id)
    row = await stored(repo, root.id)
    assert row.status == "completed"
    assert row.result == {"a": {"x": 1}}
    assert row.result_meta["summary"] == {"completed": 1, "failed": 2, "skipped": 0, "cancelled": 0}
    assert set(row.result_meta["errors"]) == {b.id, c.id}
    assert row.result_meta["statuses"] == {"a": "completed", b.id: "failed", c.id: "failed"}


async def test_a_retry_waits_at_least_the_retry_after_the_result_asked_for(session, flaky_registry):
    limited = {
        "status": "failed",
        "error": "429 Too Many Requests",
        "error_type": "http_status",
        "retryable": True,
        "retry_after": 0.4,
    }
    started = time.perf_counter()
    row, calls = await run_one(
        session,
        flaky_registry,
        script=[limited, {"status": "completed", "result": "ok"}],
        params={"retries": 1, "retry_backoff": 0.01},
    )
    assert (row.status, calls) == ("completed", 2)
    assert time.perf_counter() - started >= 0.4
