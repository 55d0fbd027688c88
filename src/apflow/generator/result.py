"""What a generation returns and reports while it runs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from apflow.core.bus import EventBus, EventKind, GenerationPhase, current_bus
from apflow.core.errors import GenerationError
from apflow.spec import TaskTreeSpec


class GenerationMode(StrEnum):
    """How a tree is generated. Both spellings are accepted everywhere: ``single_shot``
    (the value, used by the API, MCP and JSON) and ``single-shot`` (the CLI's)."""

    SINGLE_SHOT = "single_shot"
    MULTI_PHASE = "multi_phase"
    BASELINE = "baseline"

    @classmethod
    def parse(cls, mode: str | None) -> GenerationMode:
        """``"single-shot"``, ``"Single_Shot"``, ``None`` (the default) -> SINGLE_SHOT."""
        spelled = (mode or cls.SINGLE_SHOT.value).strip().lower().replace("-", "_")
        try:
            return cls(spelled)
        except ValueError:
            raise GenerationError(
                f"unknown generation mode {mode!r}",
                hint="use one of: single-shot, multi-phase, baseline (or single_shot, multi_phase)",
            ) from None

    @classmethod
    def spellings(cls, *modes: GenerationMode) -> list[str]:
        """Every accepted spelling of ``modes`` (default: all), for enums in input schemas."""
        chosen = modes or tuple(cls)
        return [m.value for m in chosen] + [m.cli_name for m in chosen if m.cli_name != m.value]

    @property
    def cli_name(self) -> str:
        return self.value.replace("_", "-")


@dataclass(frozen=True)
class GenerationEvent:
    """Progress: ``phase`` (plan, structure, generate, validate, repair), ``status``
    (start, attempt, done, failed), a human ``detail`` line and machine-readable ``data``."""

    phase: str
    status: str
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_phase(cls, event: GenerationPhase) -> GenerationEvent:
        """The bus's ``generate:*`` event in the form ``on_event`` receives."""
        return cls(event.phase, event.status, event.detail, event.data)


def generation_bus(
    parent: EventBus | None, on_event: Callable[[GenerationEvent], Any] | None
) -> EventBus:
    """The bus of one generation: ``on_event`` (if any) hears its ``generate:*`` events as
    GenerationEvents; every event then goes on to ``parent`` (default: the current bus).
    Its name, ``generation-<8 hex>``, is the ``generation_id`` of the events it carries."""
    parent = parent if parent is not None else current_bus()
    bus = EventBus(parent=parent, name=f"generation-{uuid.uuid4().hex[:8]}")
    if on_event is not None:
        listener = on_event
        bus.subscribe(
            EventKind.of_family("generate"), lambda e: listener(GenerationEvent.from_phase(e))
        )
    return bus


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
    #: What the generator could not make right and a person should look at (a request URL
    #: no task fetches, an endpoint the request never named); the tree is still valid.
    warnings: list[str] = Field(default_factory=list)
    attempts: list[dict[str, Any]] = Field(default_factory=list)
    stats: GenerationStats = Field(default_factory=GenerationStats)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the tree as its flat task list."""
        out = self.model_dump(mode="json", exclude={"tree"})
        out["tasks"] = self.tree.to_list()
        return out
