"""The typed results of the MCP tools; clients get their JSON Schemas as output schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IssueOut(_Out):
    code: str = Field(description="stable issue code, e.g. unknown_executor")
    task_id: str | None = Field(None, description="the task the issue is about, if any")
    path: str = Field("", description="where in the tree, e.g. tasks[2].inputs.url")
    message: str
    hint: str = Field("", description="what to change to fix it")


class ValidationOut(_Out):
    valid: bool
    issues: list[IssueOut] = Field(default_factory=list)


class TaskOut(_Out):
    id: str = Field(description="stored task id")
    spec_id: str = Field(description="the id the task had in the submitted tree")
    name: str
    executor: str
    status: str = Field(description="pending, in_progress, completed, failed, cancelled, skipped")
    duration_s: float | None = None
    error: str | None = None
    error_type: str | None = None
    result: Any = None


class RunOut(_Out):
    root_id: str = Field(description="pass it to get_task_tree / cancel_task_tree")
    status: str = Field(description="the root task's status")
    finished: bool = Field(description="false while the tree is still running")
    result: Any = Field(None, description="the root task's result (once completed)")
    summary: dict[str, Any] | None = Field(None, description="completed/failed/skipped counts")
    tasks: list[TaskOut] = Field(default_factory=list)


class CancelOut(_Out):
    root_id: str
    cancelled: int = Field(description="how many unfinished tasks were marked cancelled")


class ExecutorOut(_Out):
    id: str
    name: str
    description: str
    input_schema: dict[str, Any]


class ExecutorList(_Out):
    executors: list[ExecutorOut]


class GenerateOut(_Out):
    tasks: list[dict[str, Any]] = Field(description="the validated task tree (flat list)")
    mode: str
    model: str
    fixes: list[str] = Field(default_factory=list, description="deterministic repairs applied")
    stats: dict[str, Any] = Field(default_factory=dict, description="LLM calls, tokens, seconds")
    run: RunOut | None = Field(None, description="the run's outcome when run=true")
