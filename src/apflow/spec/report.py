"""Validation issues as data: one list drives the CLI, ``--json``, repair and the re-ask prompt."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from apflow.core.errors import ValidationFailed
from apflow.spec.models import TaskTreeSpec

T = TypeVar("T")


class IssueCode(StrEnum):
    """Every code the validator emits (roughly: limits, shape, structure, content); compares
    equal to its string."""

    INVALID_JSON = "invalid_json"
    DOCUMENT_TOO_LARGE = "document_too_large"
    TOO_MANY_TASKS = "too_many_tasks"
    TOO_MANY_DEPENDENCIES = "too_many_dependencies"
    VALUE_TOO_LONG = "value_too_long"
    TOO_DEEP = "too_deep"
    NOT_JSON = "not_json"
    INPUT_TOO_LARGE = "input_too_large"
    INVALID_SHAPE = "invalid_shape"
    EMPTY_TREE = "empty_tree"
    DUPLICATE_ID = "duplicate_id"
    MISSING_DEPENDENCY = "missing_dependency"
    SELF_DEPENDENCY = "self_dependency"
    MISSING_PARENT = "missing_parent"
    DEPENDENCY_CYCLE = "dependency_cycle"
    PARENT_CYCLE = "parent_cycle"
    NO_ROOT = "no_root"
    MULTIPLE_ROOTS = "multiple_roots"
    UNREACHABLE_TASK = "unreachable_task"
    NON_AGGREGATOR_ROOT = "non_aggregator_root"
    UNKNOWN_EXECUTOR = "unknown_executor"
    DISALLOWED_EXECUTOR = "disallowed_executor"
    INVALID_INPUTS = "invalid_inputs"
    BAD_REFERENCE = "bad_reference"
    UNDECLARED_REFERENCE = "undeclared_reference"
    INVALID_PRIORITY = "invalid_priority"
    #: A warning, never an error: a read may run beside a write to the same resource.
    PARALLEL_WRITE_READ = "parallel_write_read"
    #: The generator's, never the validator's: a made-up identifier where a lookup is missing.
    INVENTED_VALUE = "invented_value"
    #: The generator's too: a URL the request names that no task uses (a dropped step).
    MISSING_STEP = "missing_step"


#: Codes that make a tree impossible to store or run, whatever the registry holds.
STRUCTURAL_CODES = frozenset(
    {
        IssueCode.EMPTY_TREE,
        IssueCode.DUPLICATE_ID,
        IssueCode.MISSING_DEPENDENCY,
        IssueCode.SELF_DEPENDENCY,
        IssueCode.MISSING_PARENT,
        IssueCode.DEPENDENCY_CYCLE,
        IssueCode.PARENT_CYCLE,
        IssueCode.NO_ROOT,
        IssueCode.MULTIPLE_ROOTS,
        IssueCode.UNREACHABLE_TASK,
        IssueCode.BAD_REFERENCE,
        IssueCode.UNDECLARED_REFERENCE,
        IssueCode.INVALID_PRIORITY,
        IssueCode.INPUT_TOO_LARGE,
        IssueCode.TOO_DEEP,
        IssueCode.NOT_JSON,
        IssueCode.VALUE_TOO_LONG,
    }
)


#: Issues of one kind listed one by one for a task; the rest become one summary issue, so a
#: hostile tree cannot make a report (and its cost) grow with the square of its size.
ISSUES_PER_TASK = 10


def cap_per_code(
    problems: list[tuple[str, str, T]],
) -> tuple[list[tuple[str, T]], dict[str, list[str]]]:
    """Split one task's problems, each ``(code, what it is about, payload)`` in document
    order, into those listed one by one (the first ISSUES_PER_TASK of each code, in order,
    as ``(code, payload)``) and the rest (code -> what each was about, for one summary
    issue per code; codes in the order they passed the cap).

    Why in bulk: a hostile task has tens of thousands of problems, and deciding them one
    call at a time was a third of the validator's time on such trees.
    """
    if len(problems) <= ISSUES_PER_TASK:
        return [(code, payload) for code, _about, payload in problems], {}
    codes = {p[0] for p in problems}
    if len(codes) == 1:  # the usual case: no need to find where each code is
        (code,) = codes
        listed = [(code, p[2]) for p in problems[:ISSUES_PER_TASK]]
        return listed, {code: [p[1] for p in problems[ISSUES_PER_TASK:]]}
    at: dict[str, list[int]] = {}
    for code in codes:  # a few codes: one pass each
        at[code] = [k for k, p in enumerate(problems) if p[0] == code]
    listed = sorted(k for ks in at.values() for k in ks[:ISSUES_PER_TASK])
    over = sorted(
        (ks[ISSUES_PER_TASK], code) for code, ks in at.items() if len(ks) > ISSUES_PER_TASK
    )
    more = {code: [problems[k][1] for k in at[code][ISSUES_PER_TASK:]] for _k, code in over}
    return [(problems[k][0], problems[k][2]) for k in listed], more


class Issue(BaseModel):
    """One problem: a stable ``code``, where it is, what is wrong and what to change."""

    # the code is checked against IssueCode and kept as its plain string
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True)

    code: IssueCode
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

    def __init__(
        self,
        issues: Iterable[Issue] = (),
        spec: TaskTreeSpec | None = None,
        warnings: Iterable[Issue] = (),
    ) -> None:
        self.issues: list[Issue] = list(issues)
        self.spec = spec
        #: What may be wrong but is not invalid (a read racing a write); never affects ``valid``.
        self.warnings: list[Issue] = list(warnings)

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
        return {
            "valid": self.valid,
            "issues": [i.model_dump() for i in self.issues],
            "warnings": [w.model_dump() for w in self.warnings],
        }

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
