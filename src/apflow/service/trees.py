"""The one way to store, run, resume, cancel, read and list task trees.

The CLI, the MCP server, ``generate_executor`` and the evals all come through here, so
a tree is stored and run the same way whoever asks. Every run gets a database session
of its own that is closed when the run ends, also when it is interrupted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from apflow.core.database import create_session
from apflow.core.engine import StateListener, TaskManager
from apflow.core.errors import ApflowError, TaskNotFound, ValidationFailed
from apflow.core.models import TaskModel
from apflow.core.registry import ExecutorRegistry, default_registry
from apflow.core.repository import TaskRepository
from apflow.core.runners import ExecutorRunner
from apflow.core.states import TaskStatus
from apflow.core.utils.logger import get_logger
from apflow.service.views import (
    CancelResult,
    ExecutorView,
    GenerateView,
    IssueView,
    TreePage,
    TreeView,
    ValidationView,
    tree_summary,
    tree_view,
)
from apflow.spec import TaskTreeSpec, ValidationReport, create_tree, validate_tree

logger = get_logger(__name__)
_STATUSES = {s.value for s in TaskStatus}

#: Called once the tree's tasks are stored (or loaded, for a resume), before any runs.
StoredListener = Callable[[str, list[TaskModel]], Any]


class Service:
    """apflow for an application: one database, one executor registry, one default model.

    ``db`` is a database URL or SQLite path (None: ``APFLOW_DATABASE_URL``, else
    ``./.apflow/apflow.db``); ``registry`` defaults to the global registry; ``model`` is
    the model string :meth:`generate` uses when none is given. Trees started with
    ``wait=False`` run in this process, in the background, until they finish.
    """

    def __init__(
        self,
        db: str | None = None,
        *,
        registry: ExecutorRegistry | None = None,
        model: str | None = None,
        default_timeout: float | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        self.db = db
        self.registry = registry if registry is not None else default_registry
        self.model = model
        self.default_timeout = default_timeout
        self.max_concurrency = max_concurrency
        self._running: dict[str, TaskManager] = {}
        self._background: dict[str, asyncio.Task[Any]] = {}

    # -- checking -------------------------------------------------------------------------

    def check(self, tasks: Any) -> ValidationReport:
        """The validator's full report for ``tasks`` against this registry; never raises."""
        return validate_tree(tasks, registry=self.registry)

    def validate(self, tasks: Any) -> ValidationView:
        """Every issue of ``tasks`` (JSON text, list, ``{"tasks": [...]}`` or a spec)."""
        report = self.check(tasks)

        def views(issues: list[Any]) -> list[IssueView]:
            return [
                IssueView(
                    code=i.code, task_id=i.task_id, path=i.path, message=i.message, hint=i.hint
                )
                for i in issues
            ]

        return ValidationView(
            valid=report.valid, issues=views(report.issues), warnings=views(report.warnings)
        )

    def valid_spec(self, tasks: Any) -> TaskTreeSpec:
        """The parsed tree, or ValidationFailed carrying every issue."""
        report = self.check(tasks)
        if not report.valid:
            raise ValidationFailed(report)
        return report.spec

    # -- generating -----------------------------------------------------------------------

    async def generate(
        self,
        requirement: str,
        *,
        mode: str = "single_shot",
        model: str | None = None,
        executors: list[str] | None = None,
        on_event: Callable[[Any], Any] | None = None,
        run: bool = False,
        user_id: str | None = None,
    ) -> GenerateView:
        """A validated tree for ``requirement``; with ``run=True`` it is stored and run too.

        Raises GenerationError (with the remaining issues) when no valid tree was made,
        ConfigError/LLMError when the model cannot be used.
        """
        from apflow.generator import generate_tree

        result = await generate_tree(
            requirement,
            mode=mode,
            model=model or self.model,
            registry=self.registry,
            executors=executors,
            on_event=on_event,
        )
        view = GenerateView(
            tasks=result.tree.to_list(),
            mode=str(result.mode),
            model=str(result.model),
            fixes=[str(f) for f in result.fixes or []],
            warnings=[str(w) for w in result.warnings or []],
            stats=result.stats.model_dump(mode="json"),
        )
        if run:
            view.run = await self.run(result.tree, user_id=user_id)
        return view

    # -- running --------------------------------------------------------------------------

    async def store_and_run(
        self,
        tree: Any = None,
        *,
        root_id: str | None = None,
        user_id: str | None = None,
        on_stored: StoredListener | None = None,
        on_state_change: StateListener | None = None,
        max_concurrency: int | None = None,
        runner: ExecutorRunner | None = None,
        keep_ids: bool = False,
    ) -> list[TaskModel]:
        """Store ``tree`` and run it, or resume the stored tree ``root_id``; wait for the end.

        ``tree`` must already be valid for this registry (see :meth:`valid_spec`); a
        structurally broken one raises ValidationFailed before anything is stored. Returns
        every task of the tree as stored at the end, root first. Cancelling the calling
        coroutine (Ctrl-C) marks unfinished tasks cancelled before it returns. ``runner``
        is where executors run (default: APFLOW_DASK_ADDRESS, else this process).
        """
        if (tree is None) == (root_id is None):
            raise ApflowError("give either a tree to store and run or the root id of a stored one")
        session = create_session(self.db)
        try:
            manager = TaskManager(
                session,
                registry=self.registry,
                max_concurrency=max_concurrency or self.max_concurrency,
                on_state_change=on_state_change,
                default_timeout=self.default_timeout,
                runner=runner,
            )
            if tree is not None:
                node = await create_tree(session, tree, user_id=user_id, keep_ids=keep_ids)
                root, tasks = node.task.id, node.tasks()
                job = manager.distribute_task_tree(node)
            else:
                root, tasks = root_id, await manager.task_repository.require_tree(root_id)
                job = manager.run_tree(root_id)
            if on_stored is not None:
                on_stored(root, tasks)
            self._running[root] = manager
            try:
                await job
            finally:
                self._running.pop(root, None)
            return await manager.task_repository.get_tree(root)
        finally:
            await session.close()

    async def run(self, tasks: Any, *, wait: bool = True, user_id: str | None = None) -> TreeView:
        """Validate ``tasks``, store them and run them.

        ``wait=False`` returns as soon as the tree is stored (statuses ``pending``); the
        tree then runs in the background, and :meth:`get_tree` shows its progress.
        Raises ValidationFailed, with every issue, when the tree is invalid: nothing is
        stored then.
        """
        spec = self.valid_spec(tasks)
        if not wait:
            return await self._start(spec, user_id=user_id)
        stored = await self.store_and_run(spec, user_id=user_id)
        return tree_view(stored[0].id, stored)

    async def resume(
        self, root_id: str, *, wait: bool = True, user_id: str | None = None
    ) -> TreeView:
        """Run the stored tree ``root_id`` again: completed results are kept, the rest re-run.

        With ``user_id``, only that user's trees (see :meth:`load`).
        """
        if user_id is not None:
            await self.load(root_id, user_id=user_id)
        if root_id in self._running:
            raise ApflowError(f"tree {root_id} is already running", hint="wait or cancel it")
        if not wait:
            return await self._start(root_id=root_id)
        return tree_view(root_id, await self.store_and_run(root_id=root_id))

    async def _start(self, tree: Any = None, *, root_id: str | None = None, **kw: Any) -> TreeView:
        stored: asyncio.Future[TreeView] = asyncio.get_running_loop().create_future()

        def on_stored(root: str, tasks: list[TaskModel]) -> None:
            stored.set_result(tree_view(root, tasks))

        async def background() -> None:
            try:
                await self.store_and_run(tree, root_id=root_id, on_stored=on_stored, **kw)
            except Exception as exc:
                if not stored.done():  # refused before it was stored: the caller hears why
                    stored.set_exception(exc)
                else:
                    logger.exception("background run of tree %s failed", stored.result().root_id)

        job = asyncio.create_task(background())
        view = await stored
        self._background[view.root_id] = job
        job.add_done_callback(lambda _: self._background.pop(view.root_id, None))
        return view

    async def wait(self, root_id: str) -> None:
        """Wait for a background run started by this service (tests and shutdown use it)."""
        job = self._background.get(root_id)
        if job is not None:
            await asyncio.shield(job)

    async def cancel(self, root_id: str, *, user_id: str | None = None) -> CancelResult:
        """Cancel a tree: running tasks stop, unfinished ones are marked cancelled.

        Works for a tree this service runs and, through the database, for one run by
        another process (it notices within a second) or not running at all. With
        ``user_id``, only that user's trees (see :meth:`load`).
        """
        if user_id is not None:
            await self.load(root_id, user_id=user_id)
        manager = self._running.get(root_id)
        if manager is not None:
            return CancelResult(root_id=root_id, cancelled=await manager.cancel(root_id))
        async with self._repository() as repo:
            count = await TaskManager(repo.session, registry=self.registry).cancel(root_id)
        return CancelResult(root_id=root_id, cancelled=count)

    def is_running(self, root_id: str) -> bool:
        """Whether this service is running the tree ``root_id`` now."""
        return root_id in self._running

    async def close(self) -> None:
        """Cancel this service's background runs and wait until their states are stored."""
        jobs = list(self._background.values())
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)

    # -- reading --------------------------------------------------------------------------

    @asynccontextmanager
    async def _repository(self) -> AsyncIterator[TaskRepository]:
        """A repository on a session of its own, closed afterwards."""
        session = create_session(self.db)
        try:
            yield TaskRepository(session)
        finally:
            await session.close()

    async def load(self, root_id: str, *, user_id: str | None = None) -> list[TaskModel]:
        """Every stored task of the tree ``root_id``, root first.

        ``user_id=None`` sees every tree; a user sees only trees stored under their id,
        and another user's tree is TaskNotFound, as an unknown id is.
        """
        async with self._repository() as repo:
            return owned(await repo.require_tree(root_id), root_id, user_id)

    async def get_tree(
        self, root_id: str, *, user_id: str | None = None, with_results: bool = True
    ) -> TreeView:
        """The tree's statuses (and results): a snapshot, also while it runs."""
        tasks = await self.load(root_id, user_id=user_id)
        return tree_view(root_id, tasks, with_results=with_results)

    async def get_task(self, task_id: str) -> tuple[TaskModel, list[TaskModel]]:
        """One stored task and its children (TaskNotFound if unknown)."""
        async with self._repository() as repo:
            task = await repo.require_task(task_id)
            return task, await repo.get_children(task_id)

    async def list_tasks(
        self,
        *,
        status: str | None = None,
        user_id: str | None = None,
        roots_only: bool = True,
        limit: int = 50,
    ) -> list[TaskModel]:
        """Stored tasks (tree roots unless ``roots_only=False``), newest first."""
        _check_listing(status, limit)
        async with self._repository() as repo:
            return await repo.list_tasks(
                status=status, user_id=user_id, roots_only=roots_only, limit=limit
            )

    async def list_trees(
        self,
        *,
        status: str | None = None,
        user_id: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> TreePage:
        """One page of stored trees (their roots), newest first, with task counts and the total.

        ``status`` filters on the root's status. Pass a page's ``next_cursor`` as ``after``
        for the page that follows (keyset paging: every page costs what the first does).
        """
        _check_listing(status, limit)
        before = _cursor_position(after) if after else None
        async with self._repository() as repo:
            roots = await repo.list_roots(
                status=status, user_id=user_id, limit=limit + 1, before=before
            )
            more, roots = len(roots) > limit, roots[:limit]
            counts = await repo.status_counts(r.id for r in roots)
            total = await repo.count_roots(status=status, user_id=user_id)
        last = roots[-1] if more else None
        return TreePage(
            trees=[tree_summary(r, counts.get(r.id, {})) for r in roots],
            total=total,
            limit=limit,
            next_cursor=f"{last.created_at.isoformat()}|{last.id}" if last else None,
        )

    # -- executors ------------------------------------------------------------------------

    def executors(self) -> list[ExecutorView]:
        """Every executor a tree can use here, by id."""
        return [self.executor(i) for i in self.registry.ids()]

    def executor(self, executor_id: str) -> ExecutorView:
        """One executor's description and input schema (ExecutorNotFound names close ids)."""
        d = self.registry.describe(executor_id)
        return ExecutorView(
            id=d["id"],
            name=d.get("name") or d["id"],
            description=d.get("description") or "",
            input_schema=d.get("input_schema") or {},
        )


def owned(tasks: list[TaskModel], root_id: str, user_id: str | None) -> list[TaskModel]:
    """``tasks`` when ``user_id`` may see the tree; TaskNotFound otherwise.

    ``None`` is the local user (CLI, stdio, HTTP without tokens), who sees every tree. A
    token's user sees only trees stored under its id; another user's tree is "not found",
    so ids of others' trees cannot even be confirmed.
    """
    if user_id is None:
        return tasks
    root = next((t for t in tasks if t.id == root_id), None)
    if root is None or root.user_id != user_id:
        raise TaskNotFound(root_id)
    return tasks


def _check_listing(status: str | None, limit: int) -> None:
    if status is not None and status not in _STATUSES:
        raise ApflowError(
            f"unknown status {status!r}", hint=f"use one of {', '.join(sorted(_STATUSES))}"
        )
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ApflowError(f"limit must be an integer >= 1, got {limit!r}")


def _cursor_position(cursor: str) -> tuple[datetime, str]:
    """``(created_at, id)`` from a page's ``next_cursor``; ApflowError when it is not one."""
    stamp, sep, root_id = cursor.partition("|")
    try:
        if not sep or not root_id:
            raise ValueError(cursor)
        return datetime.fromisoformat(stamp), root_id
    except ValueError:
        raise ApflowError(
            f"bad page cursor {cursor!r}", hint="pass a page's next_cursor unchanged"
        ) from None
