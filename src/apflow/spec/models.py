"""The task-tree spec: the flat JSON list a person or a model writes, as pydantic models.

The same models give the JSON Schema shown to the LLM and published in
``apflow/schemas/task_tree.schema.json``, so the prompt and the checks cannot drift.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from apflow.core.task_fields import (
    DEFAULT_PRIORITY,
    MAX_NAME,
    MAX_PRIORITY,
    MIN_PRIORITY,
    expand_bare_ids,
)

#: Ids must be usable inside ``${id.result...}`` references.
ID_PATTERN = r"^[A-Za-z0-9_\-]+$"
#: Longest id in a tree (kept in the stored task's params, not in the 64-character id column).
MAX_SPEC_ID = 100
AGGREGATOR = "aggregate_results_executor"
TASK_FIELDS = ("id", "name", "parent_id", "dependencies", "schemas", "inputs", "priority", "params")


class DependencySpec(BaseModel):
    """One dependency: run after task ``id``; when ``required`` is false, run even if it fails."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="id of a task in the same tree")
    required: bool = Field(
        True, description="false: this task still runs when the dependency fails"
    )


class ExecutorRef(BaseModel):
    """Which executor runs the task (``{"method": executor_id}``, as in the guide)."""

    model_config = ConfigDict(extra="allow")

    method: str = Field(min_length=1, description="id of a registered executor")


class TaskParams(BaseModel):
    """Run options; unknown keys are kept for executors and hooks that read them."""

    model_config = ConfigDict(extra="allow")

    timeout: float | None = Field(None, gt=0, description="seconds before the task is stopped")
    retries: int | None = Field(None, ge=0, le=10, description="extra attempts on retryable errors")


class TaskSpec(BaseModel):
    """One task of a tree. ``parent_id`` is organisational; ``dependencies`` order execution."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        min_length=1,
        max_length=MAX_SPEC_ID,
        pattern=ID_PATTERN,
        description="unique within the tree; letters, digits, '_' and '-'",
    )
    name: str | None = Field(
        None, max_length=MAX_NAME, description="human label; defaults to the executor id"
    )
    parent_id: str | None = Field(None, description="id of the parent task; null for the root")
    dependencies: list[DependencySpec] = Field(
        default_factory=list,
        description='tasks that must finish first: ["id", ...] or [{"id": ..., "required": true}]',
    )
    schemas: ExecutorRef = Field(description='{"method": "<executor id>"}')
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        description="executor inputs; strings may hold ${task_id.result.field} references",
    )
    priority: int = Field(
        DEFAULT_PRIORITY,
        ge=MIN_PRIORITY,
        le=MAX_PRIORITY,
        description="0 = most urgent .. 3 = low; 2 is normal",
    )
    params: TaskParams = Field(default_factory=TaskParams)

    @field_validator("dependencies", mode="before")
    @classmethod
    def _bare_ids(cls, value: Any) -> Any:
        return expand_bare_ids(value)

    @field_validator("schemas", mode="before")
    @classmethod
    def _bare_method(cls, value: Any) -> Any:
        return {"method": value} if isinstance(value, str) else value

    @field_validator("parent_id", mode="before")
    @classmethod
    def _blank_parent(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("inputs", "params", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _default_name(self) -> TaskSpec:
        if not self.name or not self.name.strip():
            self.name = self.schemas.method
        return self

    @property
    def executor(self) -> str:
        """The executor id (``schemas.method``)."""
        return self.schemas.method

    def dependency_ids(self) -> list[str]:
        return [d.id for d in self.dependencies]

    def to_dict(self) -> dict[str, Any]:
        """A plain dict in the tree format (unset params left out)."""
        out = self.model_dump(mode="json", exclude_none=False)
        out["params"] = self.params.model_dump(mode="json", exclude_none=True)
        return out


class TaskTreeSpec(BaseModel):
    """A whole tree: a flat list of tasks linked by ``parent_id`` and ``dependencies``."""

    model_config = ConfigDict(
        extra="forbid",
        title="TaskTree",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    tasks: list[TaskSpec] = Field(description="every task of the tree, the root included")

    def to_list(self) -> list[dict[str, Any]]:
        """The flat JSON list (the format the generator and the CLI read and write)."""
        return [t.to_dict() for t in self.tasks]

    def ids(self) -> list[str]:
        return [t.id for t in self.tasks]

    def get(self, task_id: str) -> TaskSpec | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def roots(self) -> list[TaskSpec]:
        return [t for t in self.tasks if t.parent_id is None]
