"""Fixtures for the core tests: a session on a per-test SQLite file, an isolated
executor registry, and a few small executors whose calls are recorded."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from apflow.core.database import create_session
from apflow.core.engine import TaskManager
from apflow.core.executor import BaseTask
from apflow.core.models import TaskModel
from apflow.core.registry import ExecutorRegistry


class Recorder:
    """Shared log of executor calls: who ran, with what inputs, when."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.events: list[tuple[str, str]] = []  # ("start"|"end", task name)
        self.times: dict[str, tuple[float, float]] = {}

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def inputs_of(self, name: str) -> dict[str, Any]:
        return next(inputs for n, inputs in self.calls if n == name)


def make_executors(rec: Recorder) -> list[type[BaseTask]]:
    """Executors that record into ``rec``; behaviour is driven by their inputs."""

    class Echo(BaseTask):
        id = "echo"
        description = "Returns inputs['value'] (default: the task name) after inputs['sleep'] s."

        async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
            name = self.context.task.name if self.context else "?"
            rec.calls.append((name, inputs))
            rec.events.append(("start", name))
            start = time.monotonic()
            try:
                if inputs.get("sleep"):
                    await asyncio.sleep(inputs["sleep"])
            finally:
                rec.events.append(("end", name))
                rec.times[name] = (start, time.monotonic())
            return {"status": "completed", "result": inputs.get("value", name)}

    class Fail(BaseTask):
        id = "fail"
        description = "Always fails (error_type from inputs, default boom)."

        async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
            name = self.context.task.name if self.context else "?"
            rec.calls.append((name, inputs))
            return {
                "status": "failed",
                "error": "it broke",
                "error_type": inputs.get("error_type", "boom"),
                "retryable": bool(inputs.get("retryable", False)),
            }

    return [Echo, Fail]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def registry(recorder) -> ExecutorRegistry:
    reg = ExecutorRegistry()
    for cls in make_executors(recorder):
        reg.register(cls)
    return reg


@pytest.fixture
async def session(db_url):
    s = create_session(db_url)
    yield s
    await s.close()


@pytest.fixture
def manager(session, registry) -> TaskManager:
    return TaskManager(session, registry=registry, retry_backoff=0.01)


@pytest.fixture
def repo(manager):
    return manager.task_repository


async def snapshot(session) -> list[dict[str, Any]]:
    """Every stored row, for before/after comparisons (a fresh read, not the identity map)."""
    from sqlalchemy import select

    rows = (await session.execute(select(TaskModel.__table__).order_by("id"))).mappings()
    return [dict(r) for r in rows]


async def stored(repo, task_id: str) -> TaskModel:
    task = await repo.get_task_by_id(task_id)
    assert task is not None
    return task
