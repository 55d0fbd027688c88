"""Running one ready task: hooks, inputs, the executor with timeout and retries, the outcome.

:class:`TaskRunner` is given the registry and the run's settings by the engine; the
scheduler hands it a ready task plus a lookup for the tasks it may read. Each attempt
goes to the run's executor runner (:mod:`apflow.core.runners`: ``LocalRunner`` in this
process, the default, or ``DaskRunner`` on a cluster), the one place executors run;
in process that ends in :func:`invoke_executor`.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

from tenacity import AsyncRetrying, retry_if_result, stop_after_attempt, wait_exponential

from apflow.core import hooks, references
from apflow.core.errors import ExecutorNotFound
from apflow.core.executor import DependencyOutcome, TaskContext
from apflow.core.models import TaskModel
from apflow.core.registry import ExecutorRegistry
from apflow.core.results import failed
from apflow.core.runners.base import (
    Attempt,
    ExecutorRunner,
    Invoke,
    invoke_executor,
)
from apflow.core.runners.local import LocalRunner
from apflow.core.settings import settings
from apflow.core.states import TaskStatus
from apflow.core.utils.logger import get_logger

logger = get_logger(__name__)

#: Finds a task (of the tree or outside it) by stored id or spec id; None if unknown.
TaskLookup = Callable[[str], TaskModel | None]
#: Records a change a pre-hook made to a task's stored inputs.
InputsRecorder = Callable[[TaskModel, dict[str, Any]], None]
__all__ = ["TaskRunner", "dependency_outcomes", "invoke_executor", "public_result"]

_MAX_RETRY_AFTER = 60.0


def dependency_outcomes(task: TaskModel, lookup: TaskLookup) -> list[DependencyOutcome]:
    """What each dependency ended with, in declaration order."""
    out = []
    for dep in task.dependencies or []:
        source = lookup(dep["id"])
        if source is None:
            continue
        out.append(
            DependencyOutcome(
                task_id=source.id,
                key=source.spec_id,
                status=source.status,
                required=dep.get("required", True),
                result=source.result,
                error=source.error,
                error_type=source.error_type,
            )
        )
    return out


class TaskRunner:
    """Runs one tree's ready tasks with one registry and one set of timeout/retry defaults.

    ``runner`` is where executors run (default: a LocalRunner calling ``invoke``).
    """

    def __init__(
        self,
        registry: ExecutorRegistry,
        *,
        default_timeout: float | None = None,
        retry_backoff: float = 0.5,
        invoke: Invoke = invoke_executor,
        database_url: str | None = None,
        runner: ExecutorRunner | None = None,
        tree_id: str = "",
    ) -> None:
        self.registry = registry
        self.database_url = database_url
        self.default_timeout = default_timeout
        self.retry_backoff = retry_backoff
        self.runner = runner if runner is not None else LocalRunner(invoke)
        self.tree_id = tree_id

    async def cancel(self) -> None:
        """Stop the tree's attempts wherever they run (the engine then marks them)."""
        await self.runner.cancel_tree(self.tree_id)

    async def finished(self) -> None:
        await self.runner.tree_finished(self.tree_id)

    def collects_outcomes(self, task: TaskModel) -> bool:
        """Whether ``task``'s executor runs after failed required dependencies too."""
        try:
            cls = self.registry.get_class(task.executor_id)
        except ExecutorNotFound:
            return False
        return bool(getattr(cls, "collects_outcomes", False))

    async def run(
        self, task: TaskModel, lookup: TaskLookup, record_inputs: InputsRecorder
    ) -> dict[str, Any]:
        """Pre-hooks, inputs (references and dependency results), the executor, post-hooks."""
        if hooks.has_hooks():
            before = copy.deepcopy(task.inputs)
            await hooks.run_pre_hooks(task)
            if task.inputs != before:
                record_inputs(task, copy.deepcopy(task.inputs))
        deps = dependency_outcomes(task, lookup)

        def result_of(ref_id: str) -> Any:
            source = lookup(ref_id)
            if source is None or source.status != TaskStatus.COMPLETED:
                state = source.status if source is not None else "missing"
                raise references.InvalidReference(
                    f"referenced task {ref_id} has no result ({state})"
                )
            return source.result

        try:
            inputs = references.resolve(copy.deepcopy(task.inputs or {}), result_of)
        except references.InvalidReference as exc:
            outcome = failed(str(exc), "reference_error")
            await hooks.run_post_hooks(task, dict(task.inputs or {}), outcome)
            return outcome
        executor, refusal = None, None
        try:
            executor = self.registry.get(task.executor_id)
        except ExecutorNotFound as exc:
            outcome = failed(str(exc), "executor_not_found")
        else:
            injected = set()
            for dep in deps:
                if (
                    dep.status == TaskStatus.COMPLETED
                    and dep.key not in inputs
                    and executor.accepts_input(dep.key)
                ):
                    inputs[dep.key] = dep.result
                    injected.add(dep.key)
            # After references resolved, on what execute would receive; the dependency
            # results the engine added are the executor's to read, not the author's inputs.
            refusal = executor.input_refusal(inputs, frozenset(injected))
        if executor is not None and refusal is not None:
            outcome = failed(refusal, "invalid_inputs")
        elif executor is not None:
            executor.context = TaskContext(
                task=task,
                dependencies=deps,
                registry=self.registry,
                database_url=self.database_url,
            )
            outcome = await self.attempts(task, executor, inputs)
        if hooks.has_hooks():
            await hooks.run_post_hooks(task, inputs, public_result(outcome))
        return outcome

    async def attempts(
        self, task: TaskModel, executor: Any, inputs: dict[str, Any]
    ) -> dict[str, Any]:
        """Execute with ``params.timeout``; retry retryable failures ``params.retries`` times.

        Returns the normalised outcome with ``attempts`` (counting earlier runs of the task).
        """
        params = task.params or {}
        timeout = params.get("timeout") or self.default_timeout or settings().task_timeout
        retries = params.get("retries", 0) or 0
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            return failed(
                f"params.timeout must be a positive number, got {timeout!r}", "validation_error"
            )
        if not isinstance(retries, int) or retries < 0:
            return failed(
                f"params.retries must be an integer >= 0, got {retries!r}", "validation_error"
            )
        attempts = task.attempts or 0
        runner = self.runner
        grace = runner.backstop_grace

        async def attempt() -> dict[str, Any]:
            nonlocal attempts
            attempts += 1
            call = Attempt(
                executor,
                inputs,
                timeout,
                task_id=task.id,
                tree_id=self.tree_id,
                number=attempts,
                priority=task.priority,
            )
            if grace is None:
                outcome = await runner.run(call)
            else:  # the runner enforces the timeout elsewhere; this is the backstop
                try:
                    async with asyncio.timeout(timeout + grace):
                        outcome = await runner.run(call)
                except TimeoutError:
                    return failed(
                        f"no result from {runner!r} within the task's timeout {timeout}s "
                        f"+ {grace}s (worker lost or cluster overloaded)",
                        "timeout",
                        retryable=True,
                    )
            attempts += outcome.pop("lost_runs", 0)  # runs a dead worker never finished
            return outcome

        if retries == 0:
            outcome = await attempt()
        else:
            backoff = params.get("retry_backoff", self.retry_backoff)
            retrying = AsyncRetrying(
                stop=stop_after_attempt(retries + 1),
                wait=_honour_retry_after(wait_exponential(multiplier=backoff, max=60)),
                retry=retry_if_result(lambda r: r["status"] == "failed" and r.get("retryable")),
                retry_error_callback=lambda state: state.outcome.result(),
            )
            outcome = await retrying(attempt)
        outcome["attempts"] = attempts
        return outcome


def _honour_retry_after(base: Any) -> Any:
    """Wait at least the ``retry_after`` seconds a failed result asked for (HTTP 429/503)."""

    def wait(state: Any) -> float:
        seconds = base(state)
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            hinted = (outcome.result().get("meta") or {}).get("retry_after")
            if isinstance(hinted, (int, float)) and not isinstance(hinted, bool) and hinted > 0:
                seconds = max(seconds, min(float(hinted), _MAX_RETRY_AFTER))
        return seconds

    return wait


def public_result(outcome: dict[str, Any]) -> dict[str, Any]:
    """The standard result dict handed to post hooks."""
    if outcome["status"] == "completed":
        return {
            "status": "completed",
            "result": outcome.get("result"),
            **(outcome.get("meta") or {}),
        }
    return {k: outcome[k] for k in ("status", "error", "error_type") if k in outcome}
