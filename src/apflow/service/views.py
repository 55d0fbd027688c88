"""What the service returns: typed, JSON-ready snapshots (pydantic models).

The MCP tools return them as they are (clients get their JSON Schemas as output
schemas); a web UI can serialise them with ``model_dump(mode="json")``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from apflow.core.models import TaskModel, utcnow
from apflow.core.states import TERMINAL_STATES


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IssueView(_View):
    code: str = Field(description="stable issue code, e.g. unknown_executor")
    task_id: str | None = Field(None, description="the task the issue is about, if any")
    path: str = Field("", description="where in the tree, e.g. tasks[2].inputs.url")
    message: str
    hint: str = Field("", description="what to change to fix it")


class ValidationView(_View):
    valid: bool
    issues: list[IssueView] = Field(default_factory=list)
    warnings: list[IssueView] = Field(
        default_factory=list, description="what may be wrong in a valid tree (never invalid)"
    )


class TaskView(_View):
    id: str = Field(description="stored task id")
    spec_id: str = Field(description="the id the task had in the submitted tree")
    name: str
    executor: str
    status: str = Field(description="pending, in_progress, completed, failed, cancelled, skipped")
    duration_s: float | None = None
    error: str | None = None
    error_type: str | None = None
    result: Any = None


class TreeView(_View):
    root_id: str = Field(description="pass it to get_task_tree / cancel_task_tree")
    status: str = Field(description="the root task's status")
    finished: bool = Field(description="false while the tree is still running")
    result: Any = Field(None, description="the root task's result (once completed)")
    summary: dict[str, Any] | None = Field(None, description="completed/failed/skipped counts")
    tasks: list[TaskView] = Field(default_factory=list)


class TreeSummary(_View):
    root_id: str
    name: str
    status: str = Field(description="the root task's status")
    user_id: str | None = None
    created_at: datetime
    counts: dict[str, int] = Field(
        default_factory=dict, description="how many of the tree's tasks are in each status"
    )


class TreePage(_View):
    trees: list[TreeSummary] = Field(description="newest first")
    total: int = Field(description="how many trees match the filters")
    limit: int
    next_cursor: str | None = Field(
        None, description="pass as `after` for the next page; None on the last page"
    )


class CancelResult(_View):
    root_id: str
    cancelled: int = Field(description="how many unfinished tasks were marked cancelled")


class ExecutorView(_View):
    id: str
    name: str
    description: str
    input_schema: dict[str, Any]


class ExecutorList(_View):
    executors: list[ExecutorView]


class GenerateView(_View):
    tasks: list[dict[str, Any]] = Field(description="the validated task tree (flat list)")
    mode: str
    model: str
    fixes: list[str] = Field(default_factory=list, description="deterministic repairs applied")
    warnings: list[str] = Field(
        default_factory=list,
        description="what a person should check: request URLs no task fetches, endpoints the "
        "request never named",
    )
    stats: dict[str, Any] = Field(default_factory=dict, description="LLM calls, tokens, seconds")
    run: TreeView | None = Field(None, description="the run's outcome when run=true")


def task_view(task: TaskModel, *, with_result: bool = True) -> TaskView:
    seconds = None
    if task.started_at is not None:
        seconds = round(((task.completed_at or utcnow()) - task.started_at).total_seconds(), 3)
    return TaskView(
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


def tree_view(root_id: str, tasks: list[TaskModel], *, with_results: bool = False) -> TreeView:
    root = next(t for t in tasks if t.id == root_id)
    return TreeView(
        root_id=root_id,
        status=root.status,
        finished=root.status in TERMINAL_STATES,
        result=root.result,
        summary=(root.result_meta or {}).get("summary"),
        tasks=[task_view(t, with_result=with_results) for t in tasks],
    )


def tree_summary(root: TaskModel, counts: dict[str, int] | None = None) -> TreeSummary:
    return TreeSummary(
        root_id=root.id,
        name=root.name,
        status=root.status,
        user_id=root.user_id,
        created_at=root.created_at,
        counts=counts or {},
    )
