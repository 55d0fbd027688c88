"""The events of the bus: small frozen dataclasses, each with a ``kind`` (:class:`EventKind`).

Kinds are namespaced ``family:what``. One class per family; a family with several kinds
takes the kind as its first field. The engine's objects (``TaskModel``) ride along where a
subscriber needs them: read what you need during the call and keep no reference.
``schedule:*`` and ``approval:*`` are defined for the features that will publish them
(scheduled runs, human approval); nothing publishes them yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    """What happened; compares equal to its ``family:what`` string."""

    TREE_STORED = "tree:stored"
    TREE_STARTED = "tree:started"
    TREE_FINISHED = "tree:finished"
    TASK_STATE = "task:state"
    TASK_COMMITTED = "task:committed"
    GENERATE_START = "generate:start"
    GENERATE_ATTEMPT = "generate:attempt"
    GENERATE_DONE = "generate:done"
    GENERATE_FAILED = "generate:failed"
    MODEL_CALL = "model:call"
    HOOK_RAN = "hook:ran"
    HOOK_FAILED = "hook:failed"
    SCHEDULE_FIRED = "schedule:fired"
    APPROVAL_REQUESTED = "approval:requested"
    APPROVAL_DECIDED = "approval:decided"

    @property
    def family(self) -> str:
        """``tree``, ``task``, ``generate``, ``model``, ``hook``, ``schedule`` or ``approval``."""
        return self.value.split(":", 1)[0]

    @classmethod
    def of_family(cls, family: str) -> frozenset[EventKind]:
        """Every kind of ``family``, to subscribe to all of them; ValueError if none."""
        found = frozenset(k for k in cls if k.family == family)
        if not found:
            families = sorted({k.family for k in cls})
            raise ValueError(f"unknown event family {family!r}; known: {', '.join(families)}")
        return found


def _check(kind: EventKind, family: str) -> None:
    if EventKind(kind).family != family:
        raise ValueError(f"{kind!r} is not a {family}:* event kind")


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event: only ``kind``."""

    kind: EventKind


@dataclass(frozen=True, slots=True)
class TreeEvent(Event):
    """``tree:stored`` (``tasks`` stored), ``tree:started``, ``tree:finished`` (``status``:
    the root's status at the end; ``interrupted`` when the run was cut short)."""

    root_id: str
    status: str | None = None
    tasks: int = 0
    interrupted: bool = False

    def __post_init__(self) -> None:
        _check(self.kind, "tree")


@dataclass(frozen=True, slots=True)
class TaskStateChanged(Event):
    """``task:state``: one task's status changed in memory, before the change is stored."""

    kind: EventKind = field(default=EventKind.TASK_STATE, init=False)
    root_id: str = ""
    task_id: str = ""
    old: str = ""
    new: str = ""
    task: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class TasksCommitted(Event):
    """``task:committed``: the states of ``tasks`` of tree ``root_id`` were just committed
    (one event per commit, not per task); a read made in response sees at least them."""

    kind: EventKind = field(default=EventKind.TASK_COMMITTED, init=False)
    root_id: str = ""
    tasks: tuple[Any, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class GenerationPhase(Event):
    """``generate:start|attempt|done|failed`` of ``phase`` (plan, structure, generate,
    validate, repair); ``detail`` is a human line, ``data`` machine-readable."""

    phase: str
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict, hash=False)
    #: Tells concurrent generations apart on a shared bus.
    generation_id: str = ""

    def __post_init__(self) -> None:
        _check(self.kind, "generate")

    @property
    def status(self) -> str:
        """``start``, ``attempt``, ``done`` or ``failed``."""
        return self.kind.value.split(":", 1)[1]


@dataclass(frozen=True, slots=True)
class ModelCall(Event):
    """``model:call``: one model call finished, with its token usage and duration."""

    kind: EventKind = field(default=EventKind.MODEL_CALL, init=False)
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    generation_id: str = ""


@dataclass(frozen=True, slots=True)
class HookEvent(Event):
    """``hook:ran`` / ``hook:failed``: a ``pre`` or ``post`` hook ran for a task (``error``:
    why it failed; a failed hook never fails the task)."""

    hook: str
    stage: str
    task_id: str
    error: str | None = None

    def __post_init__(self) -> None:
        _check(self.kind, "hook")


@dataclass(frozen=True, slots=True)
class ScheduleFired(Event):
    """``schedule:fired``: a schedule started a run of ``root_id``. Defined only: no
    scheduler publishes it yet."""

    kind: EventKind = field(default=EventKind.SCHEDULE_FIRED, init=False)
    schedule_id: str = ""
    root_id: str = ""
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApprovalEvent(Event):
    """``approval:requested`` / ``approval:decided`` for a task waiting on a person
    (``approved`` and ``by`` set once decided). Defined only: nothing publishes it yet."""

    task_id: str
    root_id: str = ""
    approved: bool | None = None
    by: str | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        _check(self.kind, "approval")
