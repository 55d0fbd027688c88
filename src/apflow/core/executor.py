"""The executor base class: what a task runs.

An executor is a class with an ``id``, a ``description``, a JSON input schema and
an ``async execute(inputs) -> dict`` returning the standard result dict:
``{"status": "completed", "result": ...}`` or ``{"status": "failed", "error", "error_type"}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from apflow.core.input_schema import input_error
from apflow.core.results import completed, failed

__all__ = [
    "BaseTask",
    "DependencyOutcome",
    "Effect",
    "ExecutableTask",
    "TaskContext",
    "completed",
    "failed",
    "snake_case",
]


def snake_case(name: str) -> str:
    """``FetchUserData`` -> ``fetch_user_data``; ``HTTPFetch`` -> ``http_fetch``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.replace("-", "_").lower()


class Effect(StrEnum):
    """What one call of an executor does to the world outside the tree.

    Why it matters: two reads may run in any order, but a step that the request puts after
    a write (or a write put after a step) must wait for it, even when no data flows
    between them ("create the user, then GET it to check"). The generator keeps that
    order; the validator warns when a read races a write on the same resource.
    """

    READ = "read"
    WRITE = "write"


@dataclass
class DependencyOutcome:
    """What a dependency ended with, as seen by its dependent."""

    task_id: str
    key: str  # the spec id when the tree came from a spec, else the stored id
    status: str
    required: bool
    result: Any = None
    error: str | None = None
    error_type: str | None = None


@dataclass
class TaskContext:
    """Set on the executor instance before ``execute`` when it runs inside the engine."""

    task: Any
    dependencies: list[DependencyOutcome] = field(default_factory=list)
    #: The registry the task was looked up in; an executor that builds trees uses it too.
    registry: Any = None
    #: The database the run stores its tasks in (a URL); None when not known.
    database_url: str | None = None


class BaseTask:
    """Base class for executors. Subclass, set ``description``, implement ``execute``.

    ``id`` defaults to the snake_case class name at registration. Input schemas are
    checked as JSON Schema (Draft 2020-12) when the class is registered.
    """

    id: ClassVar[str] = ""
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: Class-level input schema; override :meth:`get_input_schema` for dynamic ones.
    input_schema: ClassVar[dict[str, Any] | None] = None
    output_schema: ClassVar[dict[str, Any] | None] = None
    #: A regular expression (case-insensitive) a requirement must match for the generator
    #: to offer this executor unasked; empty means always offered. For glue executors that
    #: small models add "just in case" (an extra merge step nobody asked for): an
    #: allow-list that names the executor offers it regardless.
    offer_when: ClassVar[str] = ""
    #: True for an executor that collects its dependencies' outcomes (the aggregator): it
    #: runs once every dependency has finished, also when a required one failed, and sees
    #: each one's status in ``context.dependencies``.
    collects_outcomes: ClassVar[bool] = False
    #: Optional inputs the generator leaves out unless the request names them (a word of the
    #: name): tuning knobs a small model otherwise fills with made-up values (a CSS
    #: selector nobody asked for narrows a scrape to one heading). Inputs with a ``default``
    #: are left out the same way without being listed here.
    unasked_inputs: ClassVar[tuple[str, ...]] = ()
    #: ``"read"`` when a call only reads, ``"write"`` when it has side effects, ``None`` when
    #: the executor does not say (the generator then imposes no order for it). Override
    #: :meth:`effect` when it depends on the inputs, and say how in ``effects_note``.
    effects: ClassVar[str | None] = None
    #: One line for people (``apflow executors show``) when :meth:`effect` looks at inputs.
    effects_note: ClassVar[str] = ""

    context: TaskContext | None = None

    def effect(self, inputs: dict[str, Any]) -> Effect | None:
        """What a call with ``inputs`` does: read, write, or None when undeclared.

        ``inputs`` are the task's inputs as written (references unresolved): an executor
        whose effect depends on an input that holds a ``${...}`` reference should answer
        WRITE, since the value is not known before the run.
        """
        return Effect(self.effects) if self.effects else None

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__}.execute is not implemented")

    def get_input_schema(self) -> dict[str, Any]:
        return dict(self.input_schema) if self.input_schema else {"type": "object"}

    def get_output_schema(self) -> dict[str, Any] | None:
        return dict(self.output_schema) if self.output_schema else None

    def accepts_input(self, key: str) -> bool:
        """Whether the input schema lets ``key`` be in the inputs (declared, or extra keys allowed).

        The engine adds a completed dependency's result under the dependency's id only when
        this is true, so an executor with a strict schema (``additionalProperties: false``)
        gets exactly what ``validate_tree`` checked; it reads its dependencies from
        ``self.context.dependencies`` or ``${id.result}`` references instead.
        """
        schema = self.get_input_schema()
        if key in (schema.get("properties") or {}):
            return True
        return schema.get("additionalProperties") is not False and (
            schema.get("unevaluatedProperties") is not False
        )

    # -- helpers for executors ------------------------------------------------------------

    def input_refusal(
        self, inputs: dict[str, Any], injected: frozenset[str] = frozenset()
    ) -> str | None:
        """Why the engine must not call :meth:`execute` with ``inputs`` (None: it may).

        The engine asks this after references are resolved; ``injected`` are the dependency
        results it added. The default is the input schema, by the same rule as
        ``validate_tree``. Override only for an executor whose schema cannot judge resolved
        values (the evals' simulated tools, fed made-up upstream results) and that checks
        its inputs in ``execute`` instead.
        """
        return input_error(self.get_input_schema(), inputs, injected=injected)

    def validate_inputs(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        """Check inputs against the input schema; a failed result dict, or None when valid."""
        problem = input_error(self.get_input_schema(), inputs)
        return None if problem is None else failed(problem, "validation_error")


class ExecutableTask(BaseTask):
    """Alias of :class:`BaseTask` kept for the guide's ``ExecutableTask`` spelling."""
