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
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy import inspect as orm_state
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from apflow.core import hooks
from apflow.core.bus import (
    EventBus,
    EventKind,
    TasksCommitted,
    TaskStateChanged,
    TreeEvent,
    current_bus,
    use_bus,
)
from apflow.core.errors import ApflowError, DuplicateTaskId
from apflow.core.graphs import implied_root_dependencies
from apflow.core.models import TaskModel, change, utcnow
from apflow.core.registry import ExecutorRegistry, default_registry
from apflow.core.repository import TaskRepository
from apflow.core.results import cancelled
from apflow.core.runners import ExecutorRunner, runner_for
from apflow.core.scheduler import StateListener, TreeScheduler, listened_by
from apflow.core.settings import settings
from apflow.core.states import TERMINAL_STATES, TaskStatus
from apflow.core.task_runner import TaskRunner
from apflow.core.tree import TaskTreeNode
from apflow.core.utils.logger import get_logger

__all__ = ["StateListener", "TaskManager"]

logger = get_logger(__name__)


def is_unsaved(task: TaskModel) -> bool:
    """True for a task made (``apflow.create_task``) and never stored or loaded."""
    return orm_state(task).key is None


class TaskManager:
    """Runs trees stored through :attr:`task_repository` on one async session.

    ``runner`` is where ready tasks' executors run: ``LocalRunner()`` (this process) or
    ``DaskRunner(address)``. Without one, ``APFLOW_DASK_ADDRESS`` selects a DaskRunner,
    connected for each run and closed after it; else executors run in this process.
    A runner passed in is started when first needed and left open for its owner to close.

    Events (tree, task and hook ones) go to ``bus``, else to the current bus when a run
    starts. ``on_state_change(task, old, new)`` hears this manager's runs only: it
    subscribes to ``task:state`` on a bus of each run, whose events then go on to ``bus``.
    """

    def __init__(
        self,
        session: AsyncSession,
        *,
        max_concurrency: int | None = None,
        registry: ExecutorRegistry | None = None,
        on_state_change: StateListener | None = None,
        default_timeout: float | None = None,
        retry_backoff: float = 0.5,
        runner: ExecutorRunner | None = None,
        bus: EventBus | None = None,
    ) -> None:
        # Task objects must stay readable after each commit (async sessions cannot lazy-load).
        session.sync_session.expire_on_commit = False
        self.session = session
        self.task_repository = TaskRepository(session)
        #: Set by the caller (argument, APFLOW_MAX_CONCURRENCY or the attribute): kept as is;
        #: otherwise a runner with more slots (a Dask cluster) raises the default to those.
        configured = settings()
        self._concurrency_given = (
            max_concurrency is not None or "max_concurrency" in configured.model_fields_set
        )
        self._max_concurrency = max_concurrency or configured.max_concurrency
        if self._max_concurrency < 1:
            raise ApflowError("max_concurrency must be >= 1")
        self.registry = registry or default_registry
        self.on_state_change = on_state_change
        self.default_timeout = default_timeout
        self.retry_backoff = retry_backoff
        self._runs: dict[str, TreeScheduler] = {}
        #: Trees being loaded to run here, and those of them cancelled before they started.
        self._starting: set[str] = set()
        self._cancel_at_start: set[str] = set()
        self._owns_runner = runner is None
        self._runner = runner
        self._bus = bus

    @property
    def bus(self) -> EventBus:
        """Where this manager publishes: the ``bus`` it was given, else the current bus."""
        return self._bus if self._bus is not None else current_bus()

    async def distribute_task_tree(self, root: TaskTreeNode) -> TaskTreeNode:
        """Run every task in ``root``'s node structure; returns the same node, updated.

        Tasks not stored yet (made with ``apflow.create_task``) are stored first, with the
        node structure as their parent links, in one transaction after the tree's checks
        passed. Raises TaskTreeError (nothing stored or run) or DuplicateTaskId.
        """
        async with self._starting_run(root.task.id):
            await self._distribute(root)
        return root

    async def _distribute(self, root: TaskTreeNode) -> None:
        repo = self.task_repository
        await repo.ready()
        nodes = list(root.walk())
        ids = [n.task.id for n in nodes]
        twice = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) < len(ids) else []
        if twice:
            raise DuplicateTaskId(twice[0], root.task.id, in_tree=True)
        stored = {t.id: t for t in await repo.get_tasks_by_ids(ids)}
        clash = [n.task for n in nodes if n.task.id in stored and is_unsaved(n.task)]
        if clash:  # a new task with a stored one's id: raises DuplicateTaskId naming its tree
            await repo.check_new_ids(clash)
        new = [n.task for n in nodes if n.task.id not in stored]
        links: dict[str, str] = {}  # the node structure is the organisational tree
        for n in nodes:
            if n.parent is not None and n.task.parent_id is None:
                if n.task.id in stored:
                    links[n.task.id] = n.parent.task.id
                n.task.parent_id = n.parent.task.id
        tasks = [stored.get(n.task.id, n.task) for n in nodes]
        for task in tasks:
            if task.id in links:
                set_committed_value(task, "parent_id", links[task.id])

        async def store() -> None:
            if new or links:
                await repo.store_new(new, links)
            if new:
                self.bus.publish(TreeEvent(EventKind.TREE_STORED, root.task.id, tasks=len(new)))

        if tasks[0].status == TaskStatus.CANCELLED:
            # Cancelled through the database (another process or manager) after it was
            # stored and before it started: a start must not undo that, as a resume would.
            self._cancel_at_start.add(root.task.id)
        await self._run(tasks, root.task.id, store=store)

    async def run_tree(self, root_id: str) -> TaskTreeNode:
        """Run (or resume) the stored tree under ``root_id``; completed results are kept."""
        async with self._starting_run(root_id):
            tasks = await self.task_repository.require_tree(root_id)
            await self._run(tasks, root_id)
        return TaskTreeNode.from_tasks(tasks, root_id)

    @asynccontextmanager
    async def _starting_run(self, root_id: str) -> AsyncIterator[None]:
        """Mark ``root_id`` as being started here, so a cancel that comes first sticks.

        Why: through the database, a cancel of a tree that has not started yet would be
        undone by the start (a resume re-runs cancelled tasks).
        """
        if root_id in self._starting or root_id in self._runs:
            raise ApflowError(f"tree {root_id} is already running in this manager")
        self._starting.add(root_id)
        try:
            yield
        finally:
            self._starting.discard(root_id)
            self._cancel_at_start.discard(root_id)

    async def cancel(self, root_id: str) -> int:
        """Cancel a tree: running tasks are stopped, unfinished ones marked cancelled.

        Works for a tree running in this manager and, through the database, for one
        stored or running elsewhere. Returns how many tasks were marked cancelled.
        """
        run = self._runs.get(root_id)
        if run is not None:
            return await run.cancel()
        if root_id in self._starting:
            self._cancel_at_start.add(root_id)
            tasks = await self.task_repository.require_tree(root_id)
            return sum(1 for t in tasks if t.status not in TERMINAL_STATES)
        tasks = await self.task_repository.require_tree(root_id)
        fields = {**cancelled("cancelled by request"), "completed_at": utcnow()}
        updates = []
        bus = self.bus
        for task in tasks:
            if task.status not in TERMINAL_STATES:
                old = change(task, **fields)
                updates.append({"id": task.id, **fields})
                bus.publish(TaskStateChanged(root_id, task.id, old, task.status, task))
        await self.task_repository.apply_updates(updates)
        changed = await self.task_repository.get_tasks_by_ids([u["id"] for u in updates])
        if changed:
            bus.publish(TasksCommitted(root_id, tuple(changed)))
        return len(updates)

    @property
    def database_url(self) -> str | None:
        """The URL of the session's database (with its password), for nested runs."""
        bind = self.session.bind
        url = getattr(bind, "url", None)
        return url.render_as_string(hide_password=False) if url is not None else None

    @property
    def max_concurrency(self) -> int:
        """Tasks of one tree running at once."""
        return self._max_concurrency

    @max_concurrency.setter
    def max_concurrency(self, value: int) -> None:
        if value < 1:
            raise ApflowError("max_concurrency must be >= 1")
        self._max_concurrency = value
        self._concurrency_given = True

    def _concurrency_for(self, runner: ExecutorRunner) -> int:
        if self._concurrency_given:
            return self._max_concurrency
        return max(self._max_concurrency, runner.slots() or 0)

    @property
    def runner(self) -> ExecutorRunner:
        """Where executors run; chosen from APFLOW_DASK_ADDRESS on first use if not given."""
        if self._runner is None:
            self._runner = runner_for()
        return self._runner

    def is_running(self, root_id: str) -> bool:
        return root_id in self._runs

    async def _run(
        self,
        tasks: list[TaskModel],
        root_id: str,
        store: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        bus = self.bus
        started = ended = False
        run = TreeScheduler(
            self.task_repository,
            tasks,
            root_id,
            task_runner=TaskRunner(
                self.registry,
                default_timeout=self.default_timeout,
                retry_backoff=self.retry_backoff,
                database_url=self.database_url,
                runner=self.runner,
                tree_id=root_id,
            ),
            max_concurrency=self.max_concurrency,
            bus=listened_by(bus, self.on_state_change),
        )
        implied = self._imply_root_dependencies(tasks, root_id, run.task_runner.collects_outcomes)
        if root_id in self._cancel_at_start:
            run.cancelled = True
        self._runs[root_id] = run
        try:
            await run.check()
            if store is not None:  # only a tree that passed its checks is stored
                await store()
            if implied:
                await self.task_repository.apply_updates([{"id": root_id, "dependencies": implied}])
            # A cluster that cannot be reached fails here, before any change is stored.
            await self.runner.start()
            run.max_concurrency = self._concurrency_for(self.runner)
            # Start from a clean session: unsaved changes are committed now rather than
            # held in an open transaction that would block the run's writer.
            await self.task_repository.commit_pending()
            bus.publish(TreeEvent(EventKind.TREE_STARTED, root_id, tasks=len(tasks)))
            started = True
            # Hooks publish to the current bus; the run's own bus stays the scheduler's.
            with hooks.hook_repository(self.task_repository), use_bus(bus):
                async with self.task_repository.dedicated_writer():
                    await run.execute()
            ended = True
        finally:
            if started:
                status = getattr(run.tasks.get(root_id), "status", None)
                finished = EventKind.TREE_FINISHED
                bus.publish(TreeEvent(finished, root_id, status, len(tasks), interrupted=not ended))
            self._runs.pop(root_id, None)
            await self._release_runner(run)

    @staticmethod
    def _imply_root_dependencies(
        tasks: list[TaskModel], root_id: str, collects: Callable[[TaskModel], bool]
    ) -> list[dict] | None:
        """Give an aggregator root (its executor collects outcomes) that declares no
        dependencies those of :func:`implied_root_dependencies`.

        Returns them when the stored root must be updated (a root not stored yet is stored
        with them), else None.
        """
        root = next(t for t in tasks if t.id == root_id)
        if not collects(root):
            return None
        implied = implied_root_dependencies(root_id, ((t.id, t.dependency_ids()) for t in tasks))
        if not implied:
            return None
        if is_unsaved(root):
            root.dependencies = implied
            return None
        set_committed_value(root, "dependencies", implied)
        return implied

    async def _release_runner(self, run: TreeScheduler) -> None:
        try:
            await asyncio.shield(run.task_runner.finished())
            if self._owns_runner and not self._runs:
                await asyncio.shield(self.runner.close())
        except Exception:
            logger.warning("could not release %r after tree %s", self.runner, run.root_id)

    async def close(self) -> None:
        """Close the runner if this manager made it (it is closed after each run anyway)."""
        if self._owns_runner and self._runner is not None:
            await self._runner.close()
