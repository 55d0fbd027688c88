"""What a generation returns and reports while it runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from apflow.spec import TaskTreeSpec


@dataclass(frozen=True)
class GenerationEvent:
    """Progress: ``phase`` (plan, structure, generate, validate, repair), ``status``
    (start, attempt, done, failed), a human ``detail`` line and machine-readable ``data``."""

    phase: str
    status: str
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Attempt:
    """One model answer and what became of it; kept for debugging failed generations."""

    number: int
    phase: str
    messages: list[dict[str, str]]
    response: str
    fixes: list[str] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    valid: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class GenerationStats(BaseModel):
    model_config = ConfigDict(extra="forbid")

    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: Completion tokens a grammar forced (evaluated in one batch, no decoding step) and
    #: those the model chose; both 0 when the backend does not tell.
    forced_tokens: int = 0
    decoded_tokens: int = 0
    seconds_by_phase: dict[str, float] = Field(default_factory=dict)


class GenerationResult(BaseModel):
    """A validated tree plus how it was made: the plan, deterministic fixes, every attempt."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    tree: TaskTreeSpec
    mode: str
    model: str
    plan: list[dict[str, Any]] | None = None
    fixes: list[str] = Field(default_factory=list)
    attempts: list[dict[str, Any]] = Field(default_factory=list)
    stats: GenerationStats = Field(default_factory=GenerationStats)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the tree as its flat task list."""
        out = self.model_dump(mode="json", exclude={"tree"})
        out["tasks"] = self.tree.to_list()
        return out
