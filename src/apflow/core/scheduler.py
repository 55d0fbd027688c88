"""One execution of one stored tree: the run-when-ready scheduler.

The tree is loaded once; each task keeps a count of unfinished dependencies and
enters a priority heap when it reaches zero, so a run is O(tasks + edges). State
changes are buffered and written once per scheduling round (one statement, one
commit); a task is started only after the commit holding its ``in_progress`` state
and its dependencies' results, so a crash never loses a result that was used.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm.attributes import set_committed_value

from apflow.core.batch_writes import STATE_FIELDS
from apflow.core.bus import EventBus, EventKind, TasksCommitted, TaskStateChanged, current_bus
from apflow.core.errors import TaskTreeError
from apflow.core.models import TaskModel, change, utcnow
from apflow.core.repository import TaskRepository
from apflow.core.results import cancelled, from_exception
from apflow.core.states import BLOCKING_STATES, TERMINAL_STATES, TaskStatus
from apflow.core.task_runner import TaskRunner
from apflow.core.tree_checks import find_problems
from apflow.core.utils.logger import get_logger

#: Called with ``(task, old_status, new_status)`` after each status change.
StateListener = Callable[[TaskModel, str, str], Any]

logger = get_logger(__name__)

_STATE_KEYS = frozenset({"id", *STATE_FIELDS})
#: How often a running tree checks the database for a cancel made elsewhere.
CANCEL_POLL_SECONDS = 1.0


def listened_by(bus: EventBus, on_state_change: StateListener | None) -> EventBus:
    """``bus``, or a bus of one run that calls ``on_state_change(task, old, new)`` for each
    ``task:state`` event and then passes every event on to ``bus``."""
    if on_state_change is None:
        return bus
    run_bus = EventBus(parent=bus, name="run")
    run_bus.subscribe(
        EventKind.TASK_STATE, lambda event: on_state_change(event.task, event.old, event.new)
    )
    return run_bus


class TreeScheduler:
    """One execution of one tree. Holds the in-memory graph and the write buffer."""

    def __init__(
        self,
        repository: TaskRepository,
        tasks: list[TaskModel],
        root_id: str,
        *,
        task_runner: TaskRunner,
        max_concurrency: int,
        bus: EventBus | None = None,
    ) -> None:
        self.repo = repository
        self.task_runner = task_runner
        self.max_concurrency = max_concurrency
        #: Hears ``task:state`` (each change, before it is stored) and ``task:committed``.
        self.bus = bus if bus is not None else current_bus()
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
        self.cancel_reason = "cancelled by request"
        self._last_poll = time.monotonic()
        self._refreshes_seen = self.repo.refreshes

    # -- before anything runs -------------------------------------------------------------

    def resolve_id(self, ref: str) -> str:
        return ref if ref in self.tasks or ref in self.external else self.alias.get(ref, ref)

    def lookup(self, ref: str) -> TaskModel | None:
        """The task a dependency or reference names (stored id or spec id), or None."""
        task_id = self.resolve_id(ref)
        return self.tasks.get(task_id) or self.external.get(task_id)

    async def check(self) -> None:
        """Refuse missing dependencies, cycles, self-dependencies and undeclared references."""
        outside = {
            d["id"]
            for t in self.tasks.values()
            for d in t.dependencies or []
            if d["id"] not in self.tasks and d["id"] not in self.alias
        }
        if outside:
            for ext in await self.repo.get_tasks_by_ids(outside):
                self.external[ext.id] = ext
        problems = find_problems(self.tasks, self.external, self.resolve_id, self.order)
        if problems:
            raise TaskTreeError(problems)

    # -- state ----------------------------------------------------------------------------

    def update(self, task: TaskModel, **fields: Any) -> None:
        """Change a task in memory and queue the write; the one place statuses change."""
        old = change(task, **fields)
        new = task.status
        self.writes.setdefault(task.id, {"id": task.id}).update(fields)
        if new != old and self.bus.listening(EventKind.TASK_STATE):
            self.bus.publish(TaskStateChanged(self.root_id, task.id, old, new, task))

    async def flush(self) -> None:
        if self.writes:
            batch = [self._full_state(row) for row in self.writes.values()]
            self.writes = {}
            await self.repo.apply_updates(batch)
            if self.repo.refreshes != self._refreshes_seen:
                # A hook's repository read may have refreshed one of our objects from the
                # database while these writes were queued; the run's own state wins.
                self._refreshes_seen = self.repo.refreshes
                for row in batch:
                    task = self.tasks.get(row["id"])
                    if task is not None:
                        for key, value in row.items():
                            if key != "id":
                                set_committed_value(task, key, value)
            if self.bus.listening(EventKind.TASK_COMMITTED):
                written = (self.tasks.get(row["id"]) for row in batch)
                tasks = tuple(t for t in written if t is not None)
                if tasks:
                    self.bus.publish(TasksCommitted(self.root_id, tasks))

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
        full = {f: loaded[f] if f in loaded else getattr(task, f) for f in STATE_FIELDS}
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
                    self.update(
                        t,
                        status="pending",
                        error=None,
                        error_type=None,
                        result=None,
                        result_meta=None,
                        completed_at=None,
                    )
        collects = self.task_runner.collects_outcomes
        for t in self.tasks.values():
            if t.status == TaskStatus.COMPLETED:
                continue
            count = 0
            for dep in t.dependencies or []:
                dep_id = self.resolve_id(dep["id"])
                required = dep.get("required", True)
                source = self.tasks.get(dep_id) or self.external[dep_id]
                if source.status in TERMINAL_STATES:
                    if required and source.status in BLOCKING_STATES and not collects(t):
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
            self._dependency_failed(task, self.blocked_by[tid])
        else:
            heapq.heappush(self.ready, (task.priority, self.order[tid], tid))

    def _dependency_failed(self, task: TaskModel, dep_id: str) -> None:
        """A required dependency did not complete: the task fails without running."""
        if task.status != TaskStatus.PENDING:
            return
        dep = self.tasks.get(dep_id) or self.external.get(dep_id)
        state = dep.status if dep is not None else "failed"
        # Name it as the tree author wrote it (spec id) as well as by its stored id.
        if dep is None:
            label = dep_id
        elif dep.spec_id != dep_id:
            label = f"'{dep.spec_id}' ({dep_id}, {dep.name})"
        else:
            label = f"{dep_id} ({dep.name})"
        self.update(
            task,
            status="failed",
            error=f"required dependency {label} {state}",
            error_type="dependency_failed",
            completed_at=utcnow(),
        )
        self._finished(task)

    def _finished(self, task: TaskModel) -> None:
        """Release (or fail) the dependents of a task that reached a terminal state.

        A dependent whose executor collects outcomes (the aggregator root) waits for every
        dependency whatever it ended with, and then runs.
        """
        if self.cancelled:
            return  # dependents stay pending and are marked cancelled, not failed
        for dependent_id, required in self.dependents.get(task.id, ()):
            dependent = self.tasks[dependent_id]
            if dependent.status != TaskStatus.PENDING:
                continue
            if (
                required
                and task.status in BLOCKING_STATES
                and not self.task_runner.collects_outcomes(dependent)
            ):
                self.blocked_by.setdefault(dependent_id, task.id)
                self._dependency_failed(dependent, task.id)
                continue
            self.waiting[dependent_id] -= 1
            if self.waiting[dependent_id] == 0:
                self._became_ready(dependent_id)

    async def execute(self) -> None:
        self._prepare()
        try:
            while True:
                launch: list[TaskModel] = []
                capacity = self.max_concurrency - len(self.running)
                while self.ready and len(launch) < capacity and not self.cancelled:
                    task = self.tasks[heapq.heappop(self.ready)[2]]
                    self.update(task, status="in_progress", started_at=utcnow(), completed_at=None)
                    launch.append(task)
                # Commit first: a task starts only once its in_progress state (and the
                # results of its dependencies) are stored.
                await self.flush()
                for task in launch:
                    fut = asyncio.ensure_future(
                        self.task_runner.run(task, self.lookup, self._record_inputs)
                    )
                    fut.add_done_callback(self._on_done)
                    self.running[fut] = task.id
                if not self.running:
                    break
                done = await self._wait_for_completions()
                for fut in done:
                    tid = self.running.pop(fut)
                    self._complete(self.tasks[tid], fut)
                if not done or time.monotonic() - self._last_poll > CANCEL_POLL_SECONDS:
                    await self._poll_external_cancel()
                if self.cancelled and not self.running:
                    break
            self._cancel_unfinished()
            await self.flush()
        except BaseException:
            # Cancelled from outside (Ctrl-C) or the database failed: stop every running
            # task and record what happened before leaving.
            await self._abort()
            raise

    def _record_inputs(self, task: TaskModel, inputs: dict[str, Any]) -> None:
        self.update(task, inputs=inputs)

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
                async with asyncio.timeout(CANCEL_POLL_SECONDS):
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
            outcome = cancelled(self.cancel_reason)
        else:
            exc = fut.exception()
            outcome = from_exception(exc) if exc is not None else fut.result()
        if task.status != TaskStatus.IN_PROGRESS:
            return
        now = utcnow()
        if outcome["status"] == "completed":
            self.update(
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
            self.update(
                task,
                status=outcome["status"],
                result=outcome.get("result"),
                result_meta=outcome.get("meta"),
                error=outcome.get("error"),
                error_type=outcome.get("error_type"),
                attempts=outcome.get("attempts", task.attempts),
                completed_at=now,
            )
        self._finished(task)

    def _cancel_unfinished(self) -> None:
        if not self.cancelled:
            return
        now = utcnow()
        for task in self.tasks.values():
            if task.status in (TaskStatus.PENDING, TaskStatus.IN_PROGRESS):
                self.update(task, **cancelled(self.cancel_reason), completed_at=now)

    async def cancel(self) -> int:
        self.cancelled = True
        before = sum(1 for t in self.tasks.values() if t.status not in TERMINAL_STATES)
        for fut in list(self.running):
            fut.cancel()
        if self.running:
            await self._stop_attempts()
        return before

    async def _stop_attempts(self) -> None:
        """Tell the executor runner to stop this tree's attempts where they run."""
        try:
            await asyncio.shield(self.task_runner.cancel())
        except Exception:
            logger.exception("could not stop the running attempts of tree %s", self.root_id)

    async def _poll_external_cancel(self) -> None:
        self._last_poll = time.monotonic()
        root = self.tasks.get(self.root_id)
        if root is None or root.status == TaskStatus.CANCELLED:
            return
        stored = await self.repo.stored_status(self.root_id)
        if stored == TaskStatus.CANCELLED:
            logger.info("tree %s was cancelled from outside; stopping", self.root_id)
            await self.cancel()

    async def _abort(self) -> None:
        self.cancelled = True
        self.cancel_reason = "run was interrupted"
        for fut in list(self.running):
            fut.cancel()
        if self.running:
            await self._stop_attempts()
            await asyncio.gather(*self.running, return_exceptions=True)
        for fut, tid in list(self.running.items()):
            self._complete(self.tasks[tid], fut)
        self.running.clear()
        self._cancel_unfinished()
        try:
            await asyncio.shield(self.flush())
        except Exception:
            logger.exception("could not record the cancelled state of tree %s", self.root_id)
