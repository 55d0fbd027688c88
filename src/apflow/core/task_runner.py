"""Running one task: hooks, inputs, the executor with timeout and retries, the outcome."""

from __future__ import annotations

import asyncio
import copy
from functools import partial
from typing import TYPE_CHECKING, Any

from tenacity import AsyncRetrying, retry_if_result, stop_after_attempt, wait_exponential

from apflow.core import hooks, references
from apflow.core.config import default_task_timeout
from apflow.core.errors import ExecutorNotFound
from apflow.core.executor import DependencyOutcome, TaskContext
from apflow.core.models import TaskModel
from apflow.core.results import from_exception, normalize
from apflow.core.states import TaskStatus
from apflow.core.utils.logger import get_logger

if TYPE_CHECKING:
    from apflow.core.scheduler import TreeRun

logger = get_logger(__name__)


def dependency_outcomes(run: TreeRun, task: TaskModel) -> list[DependencyOutcome]:
    """What each dependency ended with, in declaration order."""
    out = []
    for dep in task.dependencies or []:
        dep_id = run.resolve_id(dep["id"])
        source = run.tasks.get(dep_id) or run.external.get(dep_id)
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


def _result_of(run: TreeRun, ref_id: str) -> Any:
    source = run.tasks.get(run.resolve_id(ref_id)) or run.external.get(ref_id)
    if source is None or source.status != TaskStatus.COMPLETED:
        state = source.status if source is not None else "missing"
        raise references.ReferenceError_(f"referenced task {ref_id} has no result ({state})")
    return source.result


_MAX_RETRY_AFTER = 60.0


async def run_task(run: TreeRun, task: TaskModel) -> dict[str, Any]:
    """Pre-hooks, inputs (references and dependency results), the executor, post-hooks."""
    if hooks.has_hooks():
        before = copy.deepcopy(task.inputs)
        await hooks.run_pre_hooks(task)
        if task.inputs != before:
            run.update(task, inputs=copy.deepcopy(task.inputs))
    deps = dependency_outcomes(run, task)
    try:
        inputs = references.resolve(copy.deepcopy(task.inputs or {}), partial(_result_of, run))
    except references.ReferenceError_ as exc:
        outcome = {"status": "failed", "error": str(exc), "error_type": "reference_error"}
        await hooks.run_post_hooks(task, dict(task.inputs or {}), outcome)
        return outcome
    for dep in deps:
        if dep.status == TaskStatus.COMPLETED and dep.key not in inputs:
            inputs[dep.key] = dep.result
    try:
        executor = run.m.registry.get(task.executor_id)
    except ExecutorNotFound as exc:
        outcome = {"status": "failed", "error": str(exc), "error_type": "executor_not_found"}
    else:
        executor.context = TaskContext(task=task, dependencies=deps)
        outcome = await run_attempts(
            task,
            executor,
            inputs,
            default_timeout=run.m.default_timeout,
            retry_backoff=run.m.retry_backoff,
        )
    if hooks.has_hooks():
        await hooks.run_post_hooks(task, inputs, public_result(outcome))
    return outcome


async def run_attempts(
    task: TaskModel,
    executor: Any,
    inputs: dict[str, Any],
    *,
    default_timeout: float | None,
    retry_backoff: float,
) -> dict[str, Any]:
    """Execute with ``params.timeout``; retry retryable failures ``params.retries`` times.

    Returns the normalised outcome with ``attempts`` (counting earlier runs of the task).
    """
    params = task.params or {}
    timeout = params.get("timeout") or default_timeout or default_task_timeout()
    retries = params.get("retries", 0) or 0
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        return {
            "status": "failed",
            "error": f"params.timeout must be a positive number, got {timeout!r}",
            "error_type": "validation_error",
        }
    if not isinstance(retries, int) or retries < 0:
        return {
            "status": "failed",
            "error": f"params.retries must be an integer >= 0, got {retries!r}",
            "error_type": "validation_error",
        }
    attempts = task.attempts or 0

    async def attempt() -> dict[str, Any]:
        nonlocal attempts
        attempts += 1
        try:
            async with asyncio.timeout(timeout):
                raw = await executor.execute(inputs)
        except TimeoutError:
            return {
                "status": "failed",
                "error": f"task timed out after {timeout}s",
                "error_type": "timeout",
                "retryable": True,
            }
        except Exception as exc:  # an executor that raises is a failed task, not a crash
            logger.debug("executor %s raised", task.executor_id, exc_info=True)
            return from_exception(exc)
        return normalize(raw)

    if retries == 0:
        outcome = await attempt()
    else:
        backoff = params.get("retry_backoff", retry_backoff)
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
