"""TaskManager: stores and runs task trees.

Scheduling is run-when-ready: a task starts as soon as every dependency has
finished, lower priority numbers first, at most ``max_concurrency`` at once. The
whole run is O(tasks + edges): the tree is loaded once, and state changes are
written in batches, one commit per scheduling round. A dependent starts only after
the commit that holds its dependencies' results, so a crash never loses a result
that something else already used.
"""

from __future__ import annotations

import asyncio
import copy
import heapq
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from tenacity import AsyncRetrying, retry_if_result, stop_after_attempt, wait_exponential

from apflow.core import hooks, references
from apflow.core.config import default_max_concurrency, default_task_timeout
from apflow.core.errors import ApflowError, ExecutorNotFound, TaskNotFound, TaskTreeError
from apflow.core.executor import DependencyOutcome, TaskContext
from apflow.core.models import TaskModel, utcnow
from apflow.core.registry import ExecutorRegistry, default_registry
from apflow.core.repository import TaskRepository
from apflow.core.results import from_exception, normalize
from apflow.core.states import BLOCKING_STATES, TERMINAL_STATES, TaskStatus, check_transition
from apflow.core.tree import TaskTreeNode
from apflow.core.utils.logger import get_logger

logger = get_logger(__name__)

StateListener = Callable[[TaskModel, str, str], Any]
_STATE_FIELDS = (
    "status",
    "result",
    "result_meta",
    "error",
    "error_type",
    "attempts",
    "started_at",
    "completed_at",
)
_STATE_KEYS = frozenset({"id", *_STATE_FIELDS})
_CANCEL_POLL_SECONDS = 1.0


class TaskManager:
    """Runs trees stored through :attr:`task_repository` on one async session."""

    def __init__(
        self,
        session: AsyncSession,
        *,
        max_concurrency: int | None = None,
        registry: ExecutorRegistry | None = None,
        on_state_change: StateListener | None = None,
        default_timeout: float | None = None,
        retry_backoff: float = 0.5,
    ) -> None:
        # Task objects must stay readable after each commit (async sessions cannot lazy-load).
        session.sync_session.expire_on_commit = False
        self.session = session
        self.task_repository = TaskRepository(session)
        self.max_concurrency = max_concurrency or default_max_concurrency()
        if self.max_concurrency < 1:
            raise ApflowError("max_concurrency must be >= 1")
        self.registry = registry or default_registry
        self.on_state_change = on_state_change
        self.default_timeout = default_timeout
        self.retry_backoff = retry_backoff
        self._runs: dict[str, _TreeRun] = {}

    async def distribute_task_tree(self, root: TaskTreeNode) -> TaskTreeNode:
        """Run every task in ``root``'s node structure; returns the same node, updated."""
        nodes = list(root.walk())
        parents = {
            n.task.id: n.parent.task.id
            for n in nodes
            if n.parent is not None and n.task.parent_id is None
        }
        if parents:  # the node structure is the organisational tree: persist it
            await self.task_repository.apply_updates(
                [{"id": tid, "parent_id": pid} for tid, pid in parents.items()]
            )
            for n in nodes:
                if n.task.id in parents:
                    set_committed_value(n.task, "parent_id", parents[n.task.id])
        tasks = await self.task_repository.get_tasks_by_ids([n.task.id for n in nodes])
        found = {t.id for t in tasks}
        missing = [n.task.id for n in nodes if n.task.id not in found]
        if missing:
            raise TaskTreeError([f"task {tid} is not stored" for tid in missing])
        order = {n.task.id: i for i, n in enumerate(nodes)}
        tasks.sort(key=lambda t: order[t.id])
        await self._run(tasks, root.task.id)
        return root

    async def run_tree(self, root_id: str) -> TaskTreeNode:
        """Run (or resume) the stored tree under ``root_id``; completed results are kept."""
        tasks = await self.task_repository.get_tree(root_id)
        if not tasks:
            raise TaskNotFound(root_id)
        await self._run(tasks, root_id)
        return TaskTreeNode.from_tasks(tasks, root_id)

    async def cancel(self, root_id: str) -> int:
        """Cancel a tree: running tasks are stopped, unfinished ones marked cancelled.

        Works for a tree running in this manager and, through the database, for one
        stored or running elsewhere. Returns how many tasks were marked cancelled.
        """
        run = self._runs.get(root_id)
        if run is not None:
            return await run.cancel()
        tasks = await self.task_repository.get_tree(root_id)
        if not tasks:
            raise TaskNotFound(root_id)
        now = utcnow()
        updates = [
            {
                "id": t.id,
                "status": "cancelled",
                "error": "cancelled by request",
                "error_type": "cancelled",
                "completed_at": now,
            }
            for t in tasks
            if t.status not in TERMINAL_STATES
        ]
        await self.task_repository.apply_updates(updates)
        await self.task_repository.get_tasks_by_ids([u["id"] for u in updates])
        return len(updates)

    def is_running(self, root_id: str) -> bool:
        return root_id in self._runs

    async def _run(self, tasks: list[TaskModel], root_id: str) -> None:
        if root_id in self._runs:
            raise ApflowError(f"tree {root_id} is already running in this manager")
        run = _TreeRun(self, tasks, root_id)
        await run.check()
        async with self.task_repository.lock:
            # Start from a clean session: unsaved changes are committed now rather than
            # held in an open transaction that would block the run's writer.
            await self.session.commit()
        self._runs[root_id] = run
        token = hooks._hook_repository.set(self.task_repository)
        try:
            async with self.task_repository.dedicated_writer():
                await run.execute()
        finally:
            hooks._hook_repository.reset(token)
            self._runs.pop(root_id, None)


class _TreeRun:
    """One execution of one tree. Holds the in-memory graph and the write buffer."""

    def __init__(self, manager: TaskManager, tasks: list[TaskModel], root_id: str) -> None:
        self.m = manager
        self.repo = manager.task_repository
        self.root_id = root_id
        self.tasks = {t.id: t for t in tasks}
        self.order = {t.id: i for i, t in enumerate(tasks)}
        self.alias: dict[str, str] = {}
        for t in tasks:
            self.alias.setdefault(t.spec_id, t.id)
        self.external: dict[str, TaskModel] = {}
        self.dependents: dict[str, list[tuple[str, bool]]] = {t.id: [] for t in tasks}
        self.waiting: dict[str, int] = {}
        self.blocked_by: dict[str, str] = {}
        self.ready: list[tuple[int, int, str]] = []
        self.running: dict[asyncio.Task, str] = {}
        self._finished_futures: list[asyncio.Future] = []
        self._waiter: asyncio.Future | None = None
        self.writes: dict[str, dict[str, Any]] = {}
        self.cancelled = False
        self._last_poll = time.monotonic()
        self._refreshes_seen = self.repo.refreshes

    # -- before anything runs -------------------------------------------------------------

    def _resolve_id(self, ref: str) -> str:
        return ref if ref in self.tasks or ref in self.external else self.alias.get(ref, ref)

    async def check(self) -> None:
        """Refuse missing dependencies, cycles, self-dependencies and undeclared references."""
        problems: list[str] = []
        outside = {
            d["id"]
            for t in self.tasks.values()
            for d in t.dependencies or []
            if d["id"] not in self.tasks and d["id"] not in self.alias
        }
        if outside:
            for ext in await self.repo.get_tasks_by_ids(outside):
                self.external[ext.id] = ext
        for t in self.tasks.values():
            declared: set[str] = set()
            for dep in t.dependencies or []:
                dep_id = self._resolve_id(dep["id"])
                declared.add(dep_id)
                if dep_id == t.id:
                    problems.append(f"task {t.id} ({t.name}) depends on itself")
                elif dep_id in self.external:
                    ext = self.external[dep_id]
                    if ext.status not in TERMINAL_STATES:
                        problems.append(
                            f"task {t.id} ({t.name}) depends on {dep_id}, which is outside this "
                            f"tree and has not finished ({ext.status})"
                        )
                elif dep_id not in self.tasks:
                    problems.append(f"task {t.id} ({t.name}) depends on missing task {dep['id']}")
            for _path, raw, ref in references.find_references(t.inputs or {}):
                if isinstance(ref, references.ReferenceError_):
                    problems.append(f"task {t.id} ({t.name}): {ref}")
                elif self._resolve_id(ref.task_id) not in declared:
                    problems.append(
                        f"task {t.id} ({t.name}) references {raw} but does not depend on "
                        f"{ref.task_id}"
                    )
        problems.extend(self._cycles())
        if problems:
            raise TaskTreeError(problems)

    def _cycles(self) -> list[str]:
        """Tasks on a dependency cycle (Kahn's algorithm, both directions).

        Forward peeling leaves the cycles and everything downstream of them; peeling
        the remainder backwards drops the merely-downstream tasks, so only the
        offending ids are named.
        """
        indegree = {tid: 0 for tid in self.tasks}
        edges: dict[str, list[str]] = {tid: [] for tid in self.tasks}
        for t in self.tasks.values():
            for dep in t.dependencies or []:
                dep_id = self._resolve_id(dep["id"])
                if dep_id in self.tasks and dep_id != t.id:
                    edges[dep_id].append(t.id)
                    indegree[t.id] += 1
        queue = [tid for tid, n in indegree.items() if n == 0]
        while queue:
            tid = queue.pop()
            for nxt in edges[tid]:
                indegree[nxt] -= 1
                if indegree[nxt] == 0:
                    queue.append(nxt)
        stuck = {tid for tid, n in indegree.items() if n > 0}
        if not stuck:
            return []
        outdegree = {tid: sum(1 for nxt in edges[tid] if nxt in stuck) for tid in stuck}
        queue = [tid for tid, n in outdegree.items() if n == 0]
        while queue:
            tid = queue.pop()
            stuck.discard(tid)
            for dep in self.tasks[tid].dependencies or []:
                dep_id = self._resolve_id(dep["id"])
                if dep_id in stuck and dep_id != tid:
                    outdegree[dep_id] -= 1
                    if outdegree[dep_id] == 0:
                        queue.append(dep_id)
        cyclic = sorted(stuck, key=self.order.__getitem__)
        return [f"dependency cycle among tasks: {', '.join(cyclic)}"]

    # -- state ----------------------------------------------------------------------------

    def _set(self, task: TaskModel, **fields: Any) -> None:
        """Change a task in memory and queue the write; the one place statuses change."""
        old = task.status
        new = fields.get("status", old)
        if new != old:
            check_transition(task.id, old, new)
        for key, value in fields.items():
            set_committed_value(task, key, value)
        self.writes.setdefault(task.id, {"id": task.id}).update(fields)
        if new != old and self.m.on_state_change is not None:
            try:
                self.m.on_state_change(task, old, new)
            except Exception:
                logger.exception("state listener failed for task %s", task.id)

    async def flush(self) -> None:
        if self.writes:
            batch = [self._full_state(row) for row in self.writes.values()]
            self.writes = {}
            await self.repo.apply_updates(batch)
            if self.repo.refreshes == self._refreshes_seen:
                return
            # A hook's repository read may have refreshed one of our objects from the
            # database while these writes were queued; the run's own state wins.
            self._refreshes_seen = self.repo.refreshes
            for row in batch:
                task = self.tasks.get(row["id"])
                if task is not None:
                    for key, value in row.items():
                        if key != "id":
                            set_committed_value(task, key, value)

    def _full_state(self, row: dict[str, Any]) -> dict[str, Any]:
        """Pad a state-only write with the task's other state fields.

        Why: apply_updates issues one executemany per distinct set of columns; giving
        every state write the same columns makes a scheduling round one statement
        plus one commit instead of one statement per kind of change.
        """
        task = self.tasks.get(row["id"])
        if task is None or not row.keys() <= _STATE_KEYS:
            return row
        loaded = task.__dict__  # plain reads; the instrumented descriptors cost ~10x more
        full = {f: loaded[f] if f in loaded else getattr(task, f) for f in _STATE_FIELDS}
        full.update(row)
        return full

    # -- the run --------------------------------------------------------------------------

    def _prepare(self) -> None:
        for t in self.tasks.values():
            if t.status != TaskStatus.COMPLETED:
                if t.status == TaskStatus.IN_PROGRESS:
                    logger.warning(
                        "task %s was left in_progress by an earlier run; re-running", t.id
                    )
                if t.status != TaskStatus.PENDING:
                    self._set(
                        t,
                        status="pending",
                        error=None,
                        error_type=None,
                        result=None,
                        result_meta=None,
                        completed_at=None,
                    )
        for t in self.tasks.values():
            if t.status == TaskStatus.COMPLETED:
                continue
            count = 0
            for dep in t.dependencies or []:
                dep_id = self._resolve_id(dep["id"])
                required = dep.get("required", True)
                source = self.tasks.get(dep_id) or self.external[dep_id]
                if source.status in TERMINAL_STATES:
                    if required and source.status in BLOCKING_STATES:
                        self.blocked_by.setdefault(t.id, dep_id)
                    continue
                self.dependents[dep_id].append((t.id, required))
                count += 1
            self.waiting[t.id] = count
        for tid, count in self.waiting.items():
            if count == 0:
                self._became_ready(tid)

    def _became_ready(self, tid: str) -> None:
        task = self.tasks[tid]
        if tid in self.blocked_by:
            self._skip(task, self.blocked_by[tid])
        else:
            heapq.heappush(self.ready, (task.priority, self.order[tid], tid))

    def _skip(self, task: TaskModel, dep_id: str) -> None:
        if task.status != TaskStatus.PENDING:
            return
        dep = self.tasks.get(dep_id) or self.external.get(dep_id)
        state = dep.status if dep is not None else "failed"
        name = f" ({dep.name})" if dep is not None else ""
        self._set(
            task,
            status="skipped",
            error=f"required dependency {dep_id}{name} {state}",
            error_type="dependency_failed",
            completed_at=utcnow(),
        )
        self._finished(task)

    def _finished(self, task: TaskModel) -> None:
        """Release (or skip) the dependents of a task that reached a terminal state."""
        if self.cancelled:
            return  # dependents stay pending and are marked cancelled, not skipped
        for dependent_id, required in self.dependents.get(task.id, ()):
            dependent = self.tasks[dependent_id]
            if dependent.status != TaskStatus.PENDING:
                continue
            if required and task.status in BLOCKING_STATES:
                self.blocked_by.setdefault(dependent_id, task.id)
                self._skip(dependent, task.id)
                continue
            self.waiting[dependent_id] -= 1
            if self.waiting[dependent_id] == 0:
                self._became_ready(dependent_id)

    async def execute(self) -> None:
        self._prepare()
        try:
            while True:
                launch: list[TaskModel] = []
                capacity = self.m.max_concurrency - len(self.running)
                while self.ready and len(launch) < capacity and not self.cancelled:
                    task = self.tasks[heapq.heappop(self.ready)[2]]
                    self._set(task, status="in_progress", started_at=utcnow(), completed_at=None)
                    launch.append(task)
                # Commit first: a task starts only once its in_progress state (and the
                # results of its dependencies) are stored.
                await self.flush()
                for task in launch:
                    fut = asyncio.ensure_future(self._run_task(task))
                    fut.add_done_callback(self._on_done)
                    self.running[fut] = task.id
                if not self.running:
                    break
                done = await self._wait_for_completions()
                for fut in done:
                    tid = self.running.pop(fut)
                    self._complete(self.tasks[tid], fut)
                if not done or time.monotonic() - self._last_poll > _CANCEL_POLL_SECONDS:
                    await self._poll_external_cancel()
                if self.cancelled and not self.running:
                    break
            self._cancel_unfinished("cancelled by request")
            await self.flush()
        except BaseException:
            # Cancelled from outside (Ctrl-C) or the database failed: stop every running
            # task and record what happened before leaving.
            await self._abort()
            raise

    def _on_done(self, fut: asyncio.Future) -> None:
        self._finished_futures.append(fut)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait_for_completions(self) -> list[asyncio.Future]:
        """Futures that finished since the last round (waits up to the cancel-poll interval).

        Why not asyncio.wait: it adds and removes a callback on every running future
        each round, O(max_concurrency) per round; a done-callback queue is O(1) per task.
        """
        if not self._finished_futures:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                async with asyncio.timeout(_CANCEL_POLL_SECONDS):
                    await waiter
            except TimeoutError:
                pass
            finally:
                self._waiter = None
        done = [f for f in self._finished_futures if f in self.running]
        self._finished_futures.clear()
        return done

    def _complete(self, task: TaskModel, fut: asyncio.Future) -> None:
        if fut.cancelled():
            outcome = {
                "status": "cancelled",
                "error": "cancelled by request",
                "error_type": "cancelled",
            }
        else:
            exc = fut.exception()
            outcome = from_exception(exc) if exc is not None else fut.result()
        if task.status != TaskStatus.IN_PROGRESS:
            return
        now = utcnow()
        if outcome["status"] == "completed":
            self._set(
                task,
                status="completed",
                result=outcome.get("result"),
                result_meta=outcome.get("meta"),
                error=None,
                error_type=None,
                attempts=outcome.get("attempts", task.attempts),
                completed_at=now,
            )
        else:
            self._set(
                task,
                status=outcome["status"],
                result=None,
                result_meta=outcome.get("meta"),
                error=outcome.get("error"),
                error_type=outcome.get("error_type"),
                attempts=outcome.get("attempts", task.attempts),
                completed_at=now,
            )
        self._finished(task)

    def _cancel_unfinished(self, reason: str) -> None:
        if not self.cancelled:
            return
        now = utcnow()
        for task in self.tasks.values():
            if task.status in (TaskStatus.PENDING, TaskStatus.IN_PROGRESS):
                self._set(
                    task, status="cancelled", error=reason, error_type="cancelled", completed_at=now
                )

    async def cancel(self) -> int:
        self.cancelled = True
        before = sum(1 for t in self.tasks.values() if t.status not in TERMINAL_STATES)
        for fut in list(self.running):
            fut.cancel()
        return before

    async def _poll_external_cancel(self) -> None:
        self._last_poll = time.monotonic()
        root = self.tasks.get(self.root_id)
        if root is None or root.status == TaskStatus.CANCELLED:
            return
        async with self.repo.lock:
            with self.m.session.no_autoflush:
                stored = (
                    await self.m.session.execute(
                        select(TaskModel.status).where(TaskModel.id == self.root_id)
                    )
                ).scalar_one_or_none()
        if stored == TaskStatus.CANCELLED:
            logger.info("tree %s was cancelled from outside; stopping", self.root_id)
            await self.cancel()

    async def _abort(self) -> None:
        self.cancelled = True
        for fut in list(self.running):
            fut.cancel()
        if self.running:
            await asyncio.gather(*self.running, return_exceptions=True)
        for fut, tid in list(self.running.items()):
            self._complete(self.tasks[tid], fut)
        self.running.clear()
        self._cancel_unfinished("run was interrupted")
        try:
            await asyncio.shield(self.flush())
        except Exception:
            logger.exception("could not record the cancelled state of tree %s", self.root_id)

    # -- one task -------------------------------------------------------------------------

    def _dependency_outcomes(self, task: TaskModel) -> list[DependencyOutcome]:
        out = []
        for dep in task.dependencies or []:
            dep_id = self._resolve_id(dep["id"])
            source = self.tasks.get(dep_id) or self.external.get(dep_id)
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

    def _result_of(self, ref_id: str) -> Any:
        source = self.tasks.get(self._resolve_id(ref_id)) or self.external.get(ref_id)
        if source is None or source.status != TaskStatus.COMPLETED:
            state = source.status if source is not None else "missing"
            raise references.ReferenceError_(f"referenced task {ref_id} has no result ({state})")
        return source.result

    async def _run_task(self, task: TaskModel) -> dict[str, Any]:
        if hooks.has_hooks():
            before = copy.deepcopy(task.inputs)
            await hooks.run_pre_hooks(task)
            if task.inputs != before:
                self._set(task, inputs=copy.deepcopy(task.inputs))
        deps = self._dependency_outcomes(task)
        try:
            inputs = references.resolve(copy.deepcopy(task.inputs or {}), self._result_of)
        except references.ReferenceError_ as exc:
            outcome = {"status": "failed", "error": str(exc), "error_type": "reference_error"}
            await hooks.run_post_hooks(task, dict(task.inputs or {}), outcome)
            return outcome
        for dep in deps:
            if dep.status == TaskStatus.COMPLETED and dep.key not in inputs:
                inputs[dep.key] = dep.result
        try:
            executor = self.m.registry.get(task.executor_id)
        except ExecutorNotFound as exc:
            outcome = {"status": "failed", "error": str(exc), "error_type": "executor_not_found"}
        else:
            executor.context = TaskContext(task=task, dependencies=deps)
            outcome = await self._attempts(task, executor, inputs)
        if hooks.has_hooks():
            await hooks.run_post_hooks(task, inputs, _public(outcome))
        return outcome

    async def _attempts(self, task: TaskModel, executor: Any, inputs: dict) -> dict[str, Any]:
        params = task.params or {}
        timeout = params.get("timeout") or self.m.default_timeout or default_task_timeout()
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
            backoff = params.get("retry_backoff", self.m.retry_backoff)
            retrying = AsyncRetrying(
                stop=stop_after_attempt(retries + 1),
                wait=wait_exponential(multiplier=backoff, max=60),
                retry=retry_if_result(lambda r: r["status"] == "failed" and r.get("retryable")),
                retry_error_callback=lambda state: state.outcome.result(),
            )
            outcome = await retrying(attempt)
        outcome["attempts"] = attempts
        return outcome


def _public(outcome: dict[str, Any]) -> dict[str, Any]:
    """The standard result dict handed to post hooks."""
    if outcome["status"] == "completed":
        return {
            "status": "completed",
            "result": outcome.get("result"),
            **(outcome.get("meta") or {}),
        }
    return {k: outcome[k] for k in ("status", "error", "error_type") if k in outcome}
