"""validate_tree: the one gate every tree passes before it is stored or run.

Never raises on bad content: it returns every problem at once, so a model re-asked
with the list can fix them all in one go.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from apflow.core.registry import ExecutorRegistry, default_registry
from apflow.spec.content import ContentChecker, reference_issues
from apflow.spec.graph import SpecGraph
from apflow.spec.limits import (
    STORAGE_LIMITS,
    paused_gc,
    raw_tasks,
    scan,
)
from apflow.spec.models import TASK_FIELDS, TaskTreeSpec
from apflow.spec.parse import load_within_limits, shape_issues
from apflow.spec.policy import ExecutorPolicy, Limits, default_policy
from apflow.spec.races import race_warnings
from apflow.spec.report import STRUCTURAL_CODES, Issue, ValidationReport
from apflow.spec.structure import check_structure


def validate_tree(
    tree: Any,
    registry: ExecutorRegistry | None = None,
    *,
    policy: ExecutorPolicy | None = None,
    limits: Limits | None = None,
) -> ValidationReport:
    """Check a tree (JSON text, list, ``{"tasks": [...]}`` or TaskTreeSpec); never raises on
    any input. ``registry=None`` uses the global registry; ``policy=None`` the default.

    The limits are checked first (:func:`apflow.spec.limits.scan`); a tree beyond any of
    them gets only those issues back."""
    with paused_gc():
        return _validate(tree, registry, policy, limits)


def _validate(
    tree: Any,
    registry: ExecutorRegistry | None,
    policy: ExecutorPolicy | None,
    limits: Limits | None,
) -> ValidationReport:
    registry = registry if registry is not None else default_registry
    policy = policy if policy is not None else default_policy()
    limits = limits or Limits()
    if isinstance(tree, TaskTreeSpec):
        raw = raw_tasks(tree)
        problems = scan(raw, limits)
        if problems:
            return ValidationReport(problems)
        try:
            # pydantic does not check assignments (nor model_construct): a spec changed
            # after it was built is checked again, like the list it now holds
            TaskTreeSpec.model_validate({"tasks": raw})
        except ValidationError:
            return _validate(raw, registry, policy, limits)
        spec = tree
    else:
        tasks, problems = load_within_limits(tree, limits)
        if tasks is None:
            return ValidationReport(problems)
        try:
            spec = TaskTreeSpec.model_validate({"tasks": tasks})
        except ValidationError as exc:
            shape = shape_issues(exc, tasks)
            if not all(i.fixable or i.code == "invalid_priority" for i in shape):
                return ValidationReport(shape)
            # Only unknown fields and priorities out of range: report what else is wrong
            # too, so that every problem is listed at once, and a report whose issues are
            # all fixable really is fixed by one repair_tree.
            bad_priority = {e["loc"][1] for e in exc.errors() if e["loc"][2:3] == ("priority",)}
            known = [
                {
                    k: v
                    for k, v in t.items()
                    if k in TASK_FIELDS and not (k == "priority" and i in bad_priority)
                }
                for i, t in enumerate(tasks)
            ]
            rest = validate_tree(known, registry, policy=policy, limits=limits)
            return ValidationReport(shape + rest.issues)
    if not spec.tasks:
        empty = Issue(
            code="empty_tree",
            path="tasks",
            message="the tree has no tasks",
            hint='give at least one task, e.g. [{"id": "step", "schemas": {"method": '
            '"<executor id>"}, "inputs": {...}}]',
        )
        return ValidationReport([empty], spec)
    # JSON text with no "${" (nor "$" or "{" written as \u escapes) holds no reference:
    # no task's inputs need walking for them.
    no_refs = isinstance(tree, str) and "${" not in tree and not _ESCAPED_REF_CHAR.search(tree)
    graph = SpecGraph(spec, _no_references if no_refs else None)
    issues = check_structure(spec, graph)
    issues += ContentChecker(registry, policy).check(spec, graph)
    warnings = [] if issues else race_warnings(spec, graph, registry)
    return ValidationReport(issues, spec, warnings)


_ESCAPED_REF_CHAR = re.compile(r"\\u00(?:24|7[bB])")


def _no_references(_task: Any) -> list:
    return []


def structural_report(spec: TaskTreeSpec) -> ValidationReport:
    """Only the checks that need no registry: ids, links, cycles, one root, references."""
    if not spec.tasks:
        return validate_tree(spec, registry=None)
    problems = scan(raw_tasks(spec), STORAGE_LIMITS)
    if problems:
        return ValidationReport(problems, spec)
    graph = SpecGraph(spec)
    issues = [i for i in check_structure(spec, graph) if i.code in STRUCTURAL_CODES]
    for index, task in enumerate(spec.tasks):
        issues += reference_issues(index, task, graph)
    return ValidationReport(issues, spec)
