"""Validation issues as data: one list drives the CLI, ``--json``, repair and the re-ask prompt."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from apflow.core.errors import ValidationFailed
from apflow.spec.models import TaskTreeSpec

#: Every code the validator emits, in the order checks run.
CODES = (
    "invalid_json",
    "document_too_large",
    "too_many_tasks",
    "too_many_dependencies",
    "value_too_long",
    "too_deep",
    "not_json",
    "input_too_large",
    "invalid_shape",
    "empty_tree",
    "duplicate_id",
    "missing_dependency",
    "self_dependency",
    "missing_parent",
    "dependency_cycle",
    "parent_cycle",
    "no_root",
    "multiple_roots",
    "unreachable_task",
    "non_aggregator_root",
    "unknown_executor",
    "disallowed_executor",
    "invalid_inputs",
    "bad_reference",
    "undeclared_reference",
    "invalid_priority",
)


#: Issues of one kind listed one by one for a task; the rest become one summary issue, so a
#: hostile tree cannot make a report (and its cost) grow with the square of its size.
ISSUES_PER_TASK = 10


class Issue(BaseModel):
    """One problem: a stable ``code``, where it is, what is wrong and what to change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    task_id: str | None = None
    path: str = ""
    message: str
    hint: str = ""
    fixable: bool = False

    def line(self) -> str:
        """One line for humans and for the re-ask prompt."""
        where = f"task {self.task_id!r}" if self.task_id else "tree"
        at = f" at {self.path}" if self.path else ""
        fix = f" Fix: {self.hint}" if self.hint else ""
        return f"[{self.code}] {where}{at}: {self.message}.{fix}"


class ValidationReport:
    """Everything the validator found; ``spec`` is the parsed tree, or None if it did not parse."""

    def __init__(self, issues: Iterable[Issue] = (), spec: TaskTreeSpec | None = None) -> None:
        self.issues: list[Issue] = list(issues)
        self.spec = spec

    @property
    def valid(self) -> bool:
        return not self.issues

    def codes(self) -> list[str]:
        return [i.code for i in self.issues]

    def by_code(self, code: str) -> list[Issue]:
        return [i for i in self.issues if i.code == code]

    @property
    def fixable(self) -> bool:
        """True when at least one issue can be fixed by ``repair_tree``."""
        return any(i.fixable for i in self.issues)

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "issues": [i.model_dump() for i in self.issues]}

    def to_text(self) -> str:
        """Every issue on its own line (empty when valid)."""
        return "\n".join(i.line() for i in self.issues)

    def raise_for_issues(self) -> ValidationReport:
        """Raise ValidationFailed when there is any issue; return self otherwise."""
        if self.issues:
            raise ValidationFailed(self)
        return self

    def __repr__(self) -> str:
        return f"ValidationReport(valid={self.valid}, codes={self.codes()})"


def path_of(*parts: str | int) -> str:
    """``("tasks", 2, "inputs", "url")`` -> ``tasks[2].inputs.url``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
