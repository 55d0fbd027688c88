"""What a task runner is: the one place where an executor actually runs.

The engine owns scheduling, priorities, retries, cancellation and every database write;
a runner only executes one attempt of one ready task and hands back its normalised
outcome. ``LocalRunner`` does that in this process, ``DaskRunner`` on a Dask cluster.
Both end in :func:`execute_attempt`, so an executor behaves the same wherever it runs.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from apflow.core.executor import BaseTask
from apflow.core.results import failed, from_exception, normalize
from apflow.core.utils.logger import get_logger

logger = get_logger(__name__)


@dataclass(frozen=True)
class TaskSnapshot:
    """The parts of a stored task an executor may read, as plain data.

    Why: a worker on another machine has no database session; this is what
    ``self.context.task`` is there (attribute names match :class:`TaskModel`).
    """

    id: str
    name: str
    spec_id: str
    executor_id: str
    parent_id: str | None
    user_id: str | None
    priority: int
    inputs: dict[str, Any] | None
    params: dict[str, Any]
    schemas: dict[str, Any]
    dependencies: list[dict[str, Any]]
    attempts: int

    @property
    def type(self) -> str:
        return self.executor_id

    @classmethod
    def of(cls, task: Any) -> TaskSnapshot:
        return cls(
            id=task.id,
            name=task.name,
            spec_id=task.spec_id,
            executor_id=task.executor_id,
            parent_id=task.parent_id,
            user_id=task.user_id,
            priority=task.priority,
            inputs=task.inputs,
            params=dict(task.params or {}),
            schemas=dict(task.schemas or {}),
            dependencies=list(task.dependencies or []),
            attempts=task.attempts or 0,
        )


@dataclass
class Attempt:
    """One attempt of one task: the executor (its ``context`` set), inputs, the time limit."""

    executor: BaseTask
    inputs: dict[str, Any]
    timeout: float
    task_id: str
    tree_id: str
    number: int = 1  # counting earlier runs of the task
    priority: int = 2

    @property
    def executor_id(self) -> str:
        return getattr(self.executor, "id", "") or type(self.executor).__name__


#: Calls ``executor.execute(inputs)`` within ``timeout`` seconds (raises TimeoutError).
Invoke = Callable[[Any, dict[str, Any], float], Awaitable[Any]]


async def invoke_executor(executor: Any, inputs: dict[str, Any], timeout: float) -> Any:
    """The one place a task's executor runs: ``execute(inputs)``, stopped after ``timeout`` s."""
    async with asyncio.timeout(timeout):
        return await executor.execute(inputs)


async def execute_attempt(
    executor: Any,
    inputs: dict[str, Any],
    timeout: float,
    invoke: Invoke = invoke_executor,
) -> dict[str, Any]:
    """Run the executor once and normalise what it returned or raised.

    An executor that raises is a failed outcome, not a crash; cancellation propagates.
    Used in process and on Dask workers alike, so both record the same outcomes.
    """
    try:
        raw = await invoke(executor, inputs, timeout)
    except TimeoutError:
        return failed(f"task timed out after {timeout}s", "timeout", retryable=True)
    except Exception as exc:  # an executor that raises is a failed task, not a crash
        logger.debug("executor %s raised", getattr(executor, "id", executor), exc_info=True)
        return from_exception(exc)
    return normalize(raw)


class ExecutorRunner(ABC):
    """Where ready tasks' executors run. The engine does not know which one it has.

    ``run`` executes one attempt and returns the normalised outcome (the dict
    :func:`execute_attempt` makes, optionally with ``lost_runs``: runs that a dead
    worker never finished, which the engine counts as attempts).
    Cancelling the awaiting coroutine must stop the attempt as soon as the runner can.
    """

    #: Extra seconds the engine waits beyond a task's timeout before giving up on the
    #: runner (None: the runner enforces the timeout itself, in this process).
    backstop_grace: float | None = None

    def slots(self) -> int | None:
        """How many attempts the runner can run at once (None: no fixed number).

        A TaskManager whose max_concurrency was not set runs up to this many tasks of a
        tree at once (at least its usual default), so a big cluster is not held to 32.
        """
        return None

    def describe(self) -> str:
        """Where executors run, for people: ``this process``, ``the Dask cluster at ...``."""
        return "this process"

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect or start what the runner needs; idempotent."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what :meth:`start` took; idempotent."""

    @abstractmethod
    async def run(self, attempt: Attempt) -> dict[str, Any]:
        """Run one attempt; the outcome dict (never raises for an executor's failure)."""

    async def cancel_tree(self, tree_id: str) -> None:  # noqa: B027 - optional hook
        """Stop every attempt of ``tree_id`` that is still running (cancel took effect)."""

    async def tree_finished(self, tree_id: str) -> None:  # noqa: B027 - optional hook
        """The engine is done with ``tree_id``: free what the runner kept for it."""

    async def __aenter__(self) -> ExecutorRunner:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
