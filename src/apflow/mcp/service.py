"""What the MCP tools do, apart from the protocol: validate, store, run, inspect, cancel.

Kept free of MCP types so it is easy to test and reason about; errors are ApflowErrors
(the server turns them into ToolErrors). Background runs (``wait=False``) live in this
process, each on its own database session, until they finish.
"""

from __future__ import annotations

import asyncio
from typing import Any

from apflow.core import TaskManager, create_session
from apflow.core.errors import TaskNotFound, ValidationFailed
from apflow.core.models import TaskModel, utcnow
from apflow.core.registry import ExecutorRegistry, default_registry
from apflow.core.repository import load_tree
from apflow.core.states import TERMINAL_STATES
from apflow.core.utils.logger import get_logger
from apflow.mcp.schemas import (
    CancelOut,
    ExecutorOut,
    IssueOut,
    RunOut,
    TaskOut,
    ValidationOut,
)

logger = get_logger(__name__)


def task_out(task: TaskModel, *, with_result: bool = True) -> TaskOut:
    seconds = None
    if task.started_at is not None:
        seconds = round(((task.completed_at or utcnow()) - task.started_at).total_seconds(), 3)
    return TaskOut(
        id=task.id,
        spec_id=task.spec_id,
        name=task.name,
        executor=task.executor_id,
        status=task.status,
        duration_s=seconds,
        error=task.error,
        error_type=task.error_type,
        result=task.result if with_result else None,
    )


def run_out(root_id: str, tasks: list[TaskModel], *, with_results: bool = False) -> RunOut:
    root = next(t for t in tasks if t.id == root_id)
    return RunOut(
        root_id=root_id,
        status=root.status,
        finished=root.status in TERMINAL_STATES,
        result=root.result,
        summary=(root.result_meta or {}).get("summary"),
        tasks=[task_out(t, with_result=with_results) for t in tasks],
    )


def owned(tasks: list[TaskModel], root_id: str, user_id: str | None) -> list[TaskModel]:
    """``tasks`` when ``user_id`` may see the tree; TaskNotFound otherwise.

    ``None`` is the local user (stdio, or HTTP without tokens), who sees every tree. A token's
    user sees only trees stored under its id; another user's tree is "not found", so ids
    of others' trees cannot even be confirmed.
    """
    if user_id is None:
        return tasks
    root = next((t for t in tasks if t.id == root_id), None)
    if root is None or root.user_id != user_id:
        raise TaskNotFound(root_id)
    return tasks


class TreeService:
    """One per server: the database it uses and the trees it is running in the background."""

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
        self._background: dict[str, tuple[TaskManager, asyncio.Task[Any]]] = {}

    # -- validation -----------------------------------------------------------------------

    def check(self, tasks: Any) -> Any:
        """The validator's report for ``tasks`` (never raises on bad content)."""
        from apflow.spec import validate_tree

        return validate_tree(tasks, registry=self.registry)

    def validate(self, tasks: Any) -> ValidationOut:
        report = self.check(tasks)
        return ValidationOut(
            valid=report.valid,
            issues=[
                IssueOut(
                    code=i.code, task_id=i.task_id, path=i.path, message=i.message, hint=i.hint
                )
                for i in report.issues
            ],
        )

    def valid_spec(self, tasks: Any) -> Any:
        """The parsed tree, or ValidationFailed carrying every issue."""
        report = self.check(tasks)
        if not report.valid:
            raise ValidationFailed(report)
        return report.spec

    # -- running --------------------------------------------------------------------------

    async def run(self, tasks: Any, *, wait: bool = True, user_id: str | None = None) -> RunOut:
        """Validate, store (under ``user_id``) and run a tree; with ``wait=False`` return
        once it is stored."""
        spec = self.valid_spec(tasks)
        from apflow.spec import create_tree

        session = create_session(self.db)
        manager = TaskManager(session, registry=self.registry)
        try:
            node = await create_tree(session, spec, user_id=user_id)
        except BaseException:
            await session.close()
            raise
        root_id = node.task.id
        if not wait:
            job = asyncio.create_task(self._run_in_background(manager, node))
            self._background[root_id] = (manager, job)
            return run_out(root_id, node.tasks())
        try:
            await manager.distribute_task_tree(node)
            return run_out(root_id, await manager.task_repository.get_tree(root_id))
        finally:
            await session.close()

    async def _run_in_background(self, manager: TaskManager, node: Any) -> None:
        root_id = node.task.id
        try:
            await manager.distribute_task_tree(node)
        except Exception:
            logger.exception("background run of tree %s failed", root_id)
        finally:
            self._background.pop(root_id, None)
            await manager.session.close()

    async def wait(self, root_id: str) -> None:
        """Wait for a background run started here (tests and shutdown use it)."""
        entry = self._background.get(root_id)
        if entry is not None:
            await asyncio.shield(entry[1])

    async def get_tree(self, root_id: str, user_id: str | None = None) -> RunOut:
        tasks = owned(await load_tree(root_id, self.db), root_id, user_id)
        return run_out(root_id, tasks, with_results=True)

    async def tree_json(self, root_id: str, user_id: str | None = None) -> list[dict[str, Any]]:
        return [t.to_dict() for t in owned(await load_tree(root_id, self.db), root_id, user_id)]

    async def cancel(self, root_id: str, user_id: str | None = None) -> CancelOut:
        if user_id is not None:
            owned(await load_tree(root_id, self.db), root_id, user_id)
        entry = self._background.get(root_id)
        if entry is not None:
            return CancelOut(root_id=root_id, cancelled=await entry[0].cancel(root_id))
        session = create_session(self.db)
        try:
            count = await TaskManager(session, registry=self.registry).cancel(root_id)
        finally:
            await session.close()
        return CancelOut(root_id=root_id, cancelled=count)

    # -- executors ------------------------------------------------------------------------

    def executors(self) -> list[ExecutorOut]:
        return [self.executor(i) for i in self.registry.ids()]

    def executor(self, executor_id: str) -> ExecutorOut:
        d = self.registry.describe(executor_id)
        return ExecutorOut(
            id=d["id"],
            name=d.get("name") or d["id"],
            description=d.get("description") or "",
            input_schema=d.get("input_schema") or {},
        )
