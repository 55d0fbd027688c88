"""Everything the console reads or changes, behind one small class.

The web handlers never touch sessions, SQL or the engine themselves; they call this.
Trees started here run in this process (one session and TaskManager each) until they
finish, so their state changes reach the browser through :mod:`apflow.core.events`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from apflow.core import TaskManager, create_session
from apflow.core.errors import ApflowError, ValidationFailed
from apflow.core.models import TaskModel
from apflow.core.registry import ExecutorRegistry, default_registry
from apflow.core.repository import TaskRepository
from apflow.core.states import TERMINAL_STATES, TaskStatus
from apflow.core.utils.logger import get_logger

logger = get_logger(__name__)
T = TypeVar("T")


def _whole(read: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Run a database read in a task of its own, so that it always finishes.

    Why: a browser that leaves mid-request cancels the handler; a query cancelled halfway
    makes SQLAlchemy drop its connection uncleanly. The read completes (milliseconds) and
    closes its session; only the wait for it is abandoned.
    """

    @functools.wraps(read)
    async def whole(*args: Any, **kwargs: Any) -> T:
        return await asyncio.shield(asyncio.ensure_future(read(*args, **kwargs)))

    return whole


class Conflict(ApflowError):
    """The request does not fit the tree's current state (already running, finished...)."""


@dataclass
class TreePage:
    roots: list[TaskModel]
    counts: dict[str, dict[str, int]]
    total: int
    #: ``(created_at, id)`` of the last root, when another page follows.
    next: tuple[datetime, str] | None


class Backend:
    """One per console: the database, the default model and the trees running here."""

    def __init__(
        self,
        db: str | None = None,
        *,
        model: str | None = None,
        registry: ExecutorRegistry | None = None,
    ) -> None:
        self.db = db
        self.model = model
        self.registry = registry or default_registry
        self._running: dict[str, tuple[TaskManager, asyncio.Task[None]]] = {}

    @asynccontextmanager
    async def _repository(self) -> AsyncIterator[TaskRepository]:
        session = create_session(self.db)
        try:
            yield TaskRepository(session)
        finally:
            await session.close()

    # -- reading --------------------------------------------------------------------------

    @_whole
    async def list_trees(
        self,
        *,
        status: str | None = None,
        user_id: str | None = None,
        limit: int = 50,
        before: tuple[datetime, str] | None = None,
    ) -> TreePage:
        async with self._repository() as repo:
            roots = await repo.list_roots(
                status=status, user_id=user_id, limit=limit + 1, before=before
            )
            more = len(roots) > limit
            roots = roots[:limit]
            counts = await repo.status_counts(r.id for r in roots)
            total = await repo.count_roots(status=status, user_id=user_id)
        last = roots[-1] if more else None
        return TreePage(roots, counts, total, (last.created_at, last.id) if last else None)

    @_whole
    async def tree(self, root_id: str) -> list[TaskModel]:
        async with self._repository() as repo:
            return await repo.require_tree(root_id)

    @_whole
    async def task(self, task_id: str) -> TaskModel:
        async with self._repository() as repo:
            return await repo.require_task(task_id)

    def is_running(self, root_id: str) -> bool:
        """Whether this process is running the tree (runs elsewhere are not known here)."""
        return root_id in self._running

    def executors(self) -> list[dict[str, Any]]:
        return [self.registry.describe(i) for i in self.registry.ids()]

    def validate(self, tasks: Any) -> Any:
        from apflow.spec import validate_tree

        return validate_tree(tasks, registry=self.registry)

    # -- generating -----------------------------------------------------------------------

    async def generate(
        self,
        requirement: str,
        *,
        mode: str = "single_shot",
        model: str | None = None,
        executors: list[str] | None = None,
        on_event: Callable[[Any], None] | None = None,
    ) -> Any:
        from apflow.generator import generate_tree

        return await generate_tree(
            requirement,
            mode=mode,
            model=model or self.model,
            registry=self.registry,
            executors=executors,
            on_event=on_event,
        )

    # -- changing -------------------------------------------------------------------------

    async def start(self, tasks: Any, *, user_id: str | None = None) -> str:
        """Validate and store a tree, start running it here, and return its root id."""
        from apflow.spec import create_tree

        report = self.validate(tasks)
        if not report.valid:
            raise ValidationFailed(report)
        session = create_session(self.db)
        try:
            node = await create_tree(session, report.spec, user_id=user_id)
        except BaseException:
            await session.close()
            raise
        manager = TaskManager(session, registry=self.registry)
        self._launch(node.task.id, manager, manager.distribute_task_tree(node))
        return node.task.id

    async def resume(self, root_id: str, *, force: bool = False) -> None:
        """Run the tree's unfinished tasks again; completed results are kept."""
        if self.is_running(root_id):
            raise Conflict(f"tree {root_id} is already running")
        tasks = await self.tree(root_id)
        root = next(t for t in tasks if t.id == root_id)
        if root.status == TaskStatus.COMPLETED:
            raise Conflict(f"tree {root_id} has completed; there is nothing to resume")
        busy = [t for t in tasks if t.status == TaskStatus.IN_PROGRESS]
        if busy and not force:
            raise Conflict(
                f"{len(busy)} task(s) of tree {root_id} are in progress, but not in this "
                "console: another process may be running the tree",
                hint="resume only if no other process runs it (the run was interrupted); "
                'then send {"force": true}',
            )
        session = create_session(self.db)
        manager = TaskManager(session, registry=self.registry)
        self._launch(root_id, manager, manager.run_tree(root_id))

    async def cancel(self, root_id: str) -> int:
        entry = self._running.get(root_id)
        if entry is not None:
            return await entry[0].cancel(root_id)
        async with self._repository() as repo:
            tasks = await repo.require_tree(root_id)
            if all(t.status in TERMINAL_STATES for t in tasks):
                return 0
            return await TaskManager(repo.session, registry=self.registry).cancel(root_id)

    def _launch(self, root_id: str, manager: TaskManager, job: Any) -> None:
        async def run() -> None:
            try:
                await job
            except Exception:
                logger.exception("background run of tree %s failed", root_id)
            finally:
                self._running.pop(root_id, None)
                await manager.session.close()

        self._running[root_id] = (manager, asyncio.create_task(run()))

    async def wait(self, root_id: str) -> None:
        """Wait until a run started here ends (tests and shutdown)."""
        entry = self._running.get(root_id)
        if entry is not None:
            await asyncio.shield(entry[1])

    async def close(self) -> None:
        """Stop every run started here; their unfinished tasks are recorded as cancelled."""
        jobs = [job for _, job in self._running.values()]
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
