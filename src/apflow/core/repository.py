"""TaskRepository: every read and write of stored tasks goes through here.

One asyncio lock per session serialises access, because an AsyncSession must not
be used by two coroutines at once, and hooks share the engine's session.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm.attributes import flag_modified, set_committed_value

from apflow.core.batch_writes import UPDATABLE as _UPDATABLE
from apflow.core.batch_writes import group_updates, write_orm, write_sqlite
from apflow.core.database import ensure_schema, storage_error, write_lock
from apflow.core.errors import ApflowError, DuplicateTaskId, TaskNotFound
from apflow.core.models import TaskModel, utcnow
from apflow.core.new_task import (  # noqa: F401  (expand_bare_ids: re-exported)
    check_priority,
    check_text_fields,
    create_task,
    expand_bare_ids,
    normalize_dependencies,
)
from apflow.core.states import check_transition


def _storage_errors(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Raise a database error of ``fn`` as a StorageError (an ApflowError with a hint)."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except SQLAlchemyError as exc:
            raise storage_error(exc) from exc

    return wrapper


class TaskRepository:
    """Create, read and update tasks on one async session.

    No SQLAlchemy error leaves it: a duplicate id raises DuplicateTaskId, a missing table,
    a refused constraint or any other database failure StorageError.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _wrap_public_coroutines(cls)

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._lock: asyncio.Lock = session.info.setdefault("apflow_lock", asyncio.Lock())
        self._writer: AsyncConnection | None = None
        session.info.setdefault("apflow_refreshes", 0)

    @property
    def refreshes(self) -> int:
        """Reads on this session that refreshed loaded objects (by any repository).

        The engine re-applies its own unsaved state after such a read.
        """
        return self.session.info["apflow_refreshes"]

    def _count_refresh(self) -> None:
        self.session.info["apflow_refreshes"] += 1

    @contextmanager
    def keeping_inputs(self, task: TaskModel) -> Iterator[None]:
        """While inside, reads on this session keep ``task.inputs`` as they are in memory.

        Why: reads refresh loaded tasks from the database (``populate_existing``); a pre-hook
        that reads the task it runs for would otherwise lose the ``task.inputs`` changes of
        the hooks before it, which are stored only once every pre-hook has run.
        """
        kept = self.session.info.setdefault("apflow_kept", {})
        kept[id(task)] = task
        try:
            yield
        finally:
            kept.pop(id(task), None)

    @contextmanager
    def _refreshing(self) -> Iterator[None]:
        """Count a refreshing read and put kept inputs back after it (see keeping_inputs)."""
        self._count_refresh()
        kept = self.session.info.get("apflow_kept")
        saved = [(t, t.__dict__.get("inputs")) for t in kept.values()] if kept else []
        try:
            yield
        finally:
            for task, inputs in saved:
                set_committed_value(task, "inputs", inputs)

    @property
    def lock(self) -> asyncio.Lock:
        return self._lock

    async def _ready(self) -> None:
        await ensure_schema(self.session.bind)  # type: ignore[arg-type]

    async def ready(self) -> None:
        """Create the tables if the database has none yet (every read and write does this)."""
        await self._ready()

    @asynccontextmanager
    async def dedicated_writer(self) -> AsyncIterator[None]:
        """Pin one connection for :meth:`apply_updates` while a tree runs.

        Why: SQLite engines use NullPool (aiosqlite worker threads must not outlive the
        process), so each session commit opens and closes a connection, ~10 ms. The
        engine commits once per scheduling round; reusing one connection makes a
        round cost a fraction of a millisecond.
        """
        bind = self.session.bind
        if self._writer is not None or not isinstance(bind, AsyncEngine):
            yield
            return
        await self._ready()
        conn = await bind.connect()
        self._writer = conn
        try:
            yield
        finally:
            self._writer = None
            await asyncio.shield(conn.close())

    # -- writes -------------------------------------------------------------------------

    def _build(self, name: str, **fields: Any) -> TaskModel:
        return create_task(name, **fields)

    async def check_new_ids(self, tasks: Sequence[TaskModel]) -> None:
        """Raise DuplicateTaskId if any of ``tasks`` (not stored yet) has a stored id."""
        async with self._lock:
            await self._check_new_ids(tasks)

    async def _check_new_ids(self, tasks: Sequence[TaskModel]) -> None:
        """Refuse new tasks whose id is stored already, naming the stored task's tree."""
        ids = [t.id for t in tasks]
        if len(set(ids)) < len(ids):
            twice = next(i for i in ids if ids.count(i) > 1)
            raise DuplicateTaskId(twice, in_tree=True)
        with self.session.no_autoflush:
            rows = (
                await self.session.execute(
                    select(TaskModel.id, TaskModel.parent_id).where(TaskModel.id.in_(ids))
                )
            ).all()
        if not rows:
            return
        task_id, parent = rows[0]
        root = task_id
        while parent is not None:  # the stored task's tree, for the hint
            root = parent
            parent = (
                await self.session.execute(select(TaskModel.parent_id).where(TaskModel.id == root))
            ).scalar_one_or_none()
        raise DuplicateTaskId(task_id, root)

    async def _check_same_tree(self, tasks: Sequence[TaskModel]) -> None:
        """Refuse a dependency on a task that belongs to another tree.

        Why: a dependency gives a task its result, so a task may depend only on tasks of its
        own tree (trees of different users share one table). A task "belongs" to a tree once
        it has a parent or children; a lone task without either may still be placed into a
        tree by ``distribute_task_tree`` and is judged when the tree runs (the engine refuses
        any dependency outside the tree it runs).
        """
        batch = {t.id: t.parent_id for t in tasks}
        outside = {d["id"] for t in tasks for d in t.dependencies or []} - batch.keys()
        if not outside:
            return
        parents: dict[str, str | None] = dict(batch)
        wanted = set(outside) | {p for p in batch.values() if p is not None}
        while wanted - parents.keys():
            ask = list(wanted - parents.keys())
            rows = (
                await self.session.execute(
                    select(TaskModel.id, TaskModel.parent_id).where(TaskModel.id.in_(ask))
                )
            ).all()
            for row_id, row_parent in rows:
                parents[row_id] = row_parent
            for missing in set(ask) - {r[0] for r in rows}:
                parents[missing] = None  # not stored: the engine reports it as missing
            wanted = {p for p in parents.values() if p is not None}
        lone = [i for i, p in parents.items() if p is None and i not in batch.values()]
        with_children = {p for p in batch.values() if p is not None}
        if lone:
            with_children.update(
                (
                    await self.session.execute(
                        select(TaskModel.parent_id).where(TaskModel.parent_id.in_(lone)).distinct()
                    )
                ).scalars()
            )

        def root(task_id: str) -> str:
            seen = {task_id}
            while (parent := parents.get(task_id)) is not None and parent not in seen:
                seen.add(parent)
                task_id = parent
            return task_id

        def in_a_tree(task_id: str) -> bool:
            return parents.get(task_id) is not None or task_id in with_children

        for task in tasks:
            if not in_a_tree(task.id):
                continue
            for dep in task.dependencies or []:
                dep_id = dep["id"]
                if dep_id in outside and in_a_tree(dep_id) and root(dep_id) != root(task.id):
                    raise ApflowError(
                        f"task {task.id} ({task.name}) depends on {dep_id}, a task of another "
                        f"tree (root {root(dep_id)}); a dependency must be in the same tree",
                        hint="depend on a task of this tree, or copy the value you need into "
                        "the task's inputs",
                    )

    async def create_task(self, name: str, **fields: Any) -> TaskModel:
        """Store one new pending task and return it (committed)."""
        task = self._build(name, **fields)
        await self._ready()
        async with self._lock:
            await self._check_new_ids([task])
            await self._check_same_tree([task])
            self.session.add(task)
            async with write_lock(self.session.bind):
                await self.session.commit()
        return task

    async def create_tasks(self, rows: Sequence[dict[str, Any]]) -> list[TaskModel]:
        """Store many tasks in one transaction: all of them or none."""
        tasks = [self._build(**row) for row in rows]
        await self._ready()
        async with self._lock:
            await self._check_new_ids(tasks)
            await self._check_same_tree(tasks)
            try:
                self.session.add_all(tasks)
                async with write_lock(self.session.bind):
                    await self.session.commit()
            except Exception:
                await self.session.rollback()
                raise
        return tasks

    async def store_new(
        self, tasks: Sequence[TaskModel], parent_links: dict[str, str] | None = None
    ) -> None:
        """Store ``tasks`` (made, not stored) and set ``parent_id`` of stored tasks
        (``{task_id: parent_id}``), in one transaction: all of it or nothing."""
        await self._ready()
        await self.check_new_ids(tasks)
        async with self._lock, write_lock(self.session.bind):
            try:
                self.session.add_all(tasks)
                for task_id, parent_id in (parent_links or {}).items():
                    await self.session.execute(
                        update(TaskModel).where(TaskModel.id == task_id).values(parent_id=parent_id)
                    )
                await self.session.commit()
            except BaseException:
                await self.session.rollback()
                raise

    async def update_task(self, task_id: str, **fields: Any) -> TaskModel:
        """Change fields of one task and commit. Status changes must be legal transitions."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ApflowError(
                f"cannot update task field(s) {sorted(unknown)}",
                hint=f"updatable: {', '.join(sorted(_UPDATABLE))}",
            )
        if "priority" in fields:
            check_priority(fields["priority"])
        check_text_fields(fields)
        if "dependencies" in fields:
            fields["dependencies"] = normalize_dependencies(fields["dependencies"])
        await self._ready()
        async with self._lock:
            # The identity-map object, not a refreshed one: a pre-hook may have changed
            # task.inputs in place, and the next hook must still see that change.
            with self.session.no_autoflush:
                task = await self.session.get(TaskModel, task_id)
                if task is None:
                    raise TaskNotFound(task_id)
                stored = (
                    await self.session.execute(
                        select(TaskModel.status).where(TaskModel.id == task_id)
                    )
                ).scalar_one()
            set_committed_value(task, "status", stored)
            if "dependencies" in fields:
                changed = SimpleNamespace(
                    id=task.id,
                    name=task.name,
                    parent_id=task.parent_id,
                    dependencies=fields["dependencies"],
                )
                await self._check_same_tree([changed])  # type: ignore[list-item]
            if "status" in fields and fields["status"] != stored:
                check_transition(task_id, stored, fields["status"])
            for key, value in fields.items():
                setattr(task, key, value)
                flag_modified(task, key)  # written even if a stale copy held the same value
            task.updated_at = utcnow()
            try:
                async with write_lock(self.session.bind):
                    await self.session.commit()
            except BaseException:
                await self.session.rollback()
                raise
        return task

    async def apply_updates(self, updates: Sequence[dict[str, Any]]) -> None:
        """Write a batch of ``{"id": ..., field: value}`` rows in one transaction.

        The engine's hot path: one executemany per distinct set of fields, one commit.
        """
        if not updates:
            return
        groups = group_updates(updates)
        await self._ready()
        async with self._lock, write_lock(self.session.bind):
            if self._writer is not None and self._writer.dialect.name == "sqlite":
                await write_sqlite(self._writer, groups)
            else:
                await write_orm(self._writer or self.session, groups)

    async def commit_pending(self) -> None:
        """Commit whatever the session holds unsaved (a run starts from a clean session)."""
        async with self._lock, write_lock(self.session.bind):
            await self.session.commit()

    # -- reads --------------------------------------------------------------------------

    async def stored_status(self, task_id: str) -> str | None:
        """The status in the database now, without refreshing the loaded task object.

        Why: a running tree keeps its own in-memory state; it only asks whether someone
        else (another process, ``apflow tasks cancel``) changed the stored status.
        """
        async with self._lock:
            with self.session.no_autoflush:
                return (
                    await self.session.execute(
                        select(TaskModel.status).where(TaskModel.id == task_id)
                    )
                ).scalar_one_or_none()

    async def get_task_by_id(self, task_id: str) -> TaskModel | None:
        """The task with this id (fresh from the database), or None."""
        await self._ready()
        async with self._lock:
            with self._refreshing(), self.session.no_autoflush:
                return await self.session.get(TaskModel, task_id, populate_existing=True)

    async def require_task(self, task_id: str) -> TaskModel:
        task = await self.get_task_by_id(task_id)
        if task is None:
            raise TaskNotFound(task_id)
        return task

    async def require_tree(self, root_id: str) -> list[TaskModel]:
        """Like :meth:`get_tree`, but an unknown root is ``TaskNotFound``."""
        tasks = await self.get_tree(root_id)
        if not tasks:
            raise TaskNotFound(root_id)
        return tasks

    async def _select(self, stmt) -> list[TaskModel]:
        await self._ready()
        async with self._lock:
            # Reads never autoflush: an unsaved change would open a write transaction on
            # the session's connection and block the engine's writer (SQLite has one writer).
            with self._refreshing(), self.session.no_autoflush:
                result = await self.session.execute(stmt.execution_options(populate_existing=True))
                return list(result.scalars().all())

    async def get_tasks_by_status(self, status: str, limit: int | None = None) -> list[TaskModel]:
        stmt = (
            select(TaskModel).where(TaskModel.status == str(status)).order_by(TaskModel.created_at)
        )
        if limit:
            stmt = stmt.limit(limit)
        return await self._select(stmt)

    async def get_children(self, task_id: str) -> list[TaskModel]:
        stmt = (
            select(TaskModel).where(TaskModel.parent_id == task_id).order_by(TaskModel.created_at)
        )
        return await self._select(stmt)

    async def get_tasks_by_ids(self, ids: Iterable[str]) -> list[TaskModel]:
        ids = list(ids)
        if not ids:
            return []
        return await self._select(select(TaskModel).where(TaskModel.id.in_(ids)))

    async def get_tree(self, root_id: str) -> list[TaskModel]:
        """The root and all its descendants by ``parent_id``, in one recursive query."""
        tasks = TaskModel.__table__
        tree = select(tasks.c.id).where(tasks.c.id == root_id).cte("tree", recursive=True)
        tree = tree.union(select(tasks.c.id).where(tasks.c.parent_id == tree.c.id))
        stmt = select(TaskModel).where(TaskModel.id.in_(select(tree.c.id)))
        rows = await self._select(stmt)
        rows.sort(key=lambda t: (t.id != root_id, t.created_at))
        return rows

    async def list_tasks(
        self,
        *,
        status: str | None = None,
        user_id: str | None = None,
        roots_only: bool = False,
        limit: int = 50,
    ) -> list[TaskModel]:
        stmt = select(TaskModel)
        if status:
            stmt = stmt.where(TaskModel.status == status)
        if user_id:
            stmt = stmt.where(TaskModel.user_id == user_id)
        if roots_only:
            stmt = stmt.where(TaskModel.parent_id.is_(None))
        stmt = stmt.order_by(TaskModel.created_at.desc()).limit(limit)
        return await self._select(stmt)

    @staticmethod
    def _roots(status: str | None, user_id: str | None, *columns: Any):
        stmt = select(*(columns or (TaskModel,))).where(TaskModel.parent_id.is_(None))
        if status:
            stmt = stmt.where(TaskModel.status == status)
        if user_id:
            stmt = stmt.where(TaskModel.user_id == user_id)
        return stmt

    async def list_roots(
        self,
        *,
        status: str | None = None,
        user_id: str | None = None,
        limit: int = 50,
        before: tuple[datetime, str] | None = None,
    ) -> list[TaskModel]:
        """Root tasks (one per tree), newest first; ``before`` is the last row of the previous
        page, as ``(created_at, id)``.

        Why keyset rather than OFFSET: page 200 of 10,000 trees costs what page 1 does. Why
        the id subquery: sorting only ids and timestamps, not whole rows with their inputs
        and results, makes a page of 10,000 roots twice as fast on SQLite.
        """
        page = self._roots(status, user_id, TaskModel.id)
        if before is not None:
            created, last_id = before
            page = page.where(
                or_(
                    TaskModel.created_at < created,
                    and_(TaskModel.created_at == created, TaskModel.id < last_id),
                )
            )
        page = page.order_by(TaskModel.created_at.desc(), TaskModel.id.desc()).limit(limit)
        roots = await self._select(select(TaskModel).where(TaskModel.id.in_(page)))
        roots.sort(key=lambda t: (t.created_at, t.id), reverse=True)
        return roots

    async def count_roots(self, *, status: str | None = None, user_id: str | None = None) -> int:
        stmt = select(func.count()).select_from(
            self._roots(status, user_id, TaskModel.id).subquery()
        )
        await self._ready()
        async with self._lock:
            with self.session.no_autoflush:
                return int((await self.session.execute(stmt)).scalar_one())

    async def status_counts(self, root_ids: Iterable[str]) -> dict[str, dict[str, int]]:
        """``{root_id: {status: number of tasks}}`` over each whole tree, in one query."""
        ids = list(root_ids)
        if not ids:
            return {}
        tasks = TaskModel.__table__
        tree = (
            select(tasks.c.id.label("root"), tasks.c.id, tasks.c.status)
            .where(tasks.c.id.in_(ids))
            .cte("tree", recursive=True)
        )
        tree = tree.union_all(
            select(tree.c.root, tasks.c.id, tasks.c.status).where(tasks.c.parent_id == tree.c.id)
        )
        stmt = select(tree.c.root, tree.c.status, func.count()).group_by(tree.c.root, tree.c.status)
        await self._ready()
        async with self._lock:
            with self.session.no_autoflush:
                rows = (await self.session.execute(stmt)).all()
        counts: dict[str, dict[str, int]] = {root: {} for root in ids}
        for root, status, number in rows:
            counts[root][status] = number
        return counts


def _wrap_public_coroutines(cls: type) -> None:
    for name, value in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(value):
            setattr(cls, name, _storage_errors(value))


_wrap_public_coroutines(TaskRepository)
