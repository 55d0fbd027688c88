"""validate_tree: the one gate every tree passes before it is stored or run.

Never raises on bad content: it returns every problem at once, so a model re-asked
with the list can fix them all in one go.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from apflow.core.registry import ExecutorRegistry, default_registry
from apflow.spec.content import ContentChecker, reference_issues
from apflow.spec.graph import MAX_SCAN_DEPTH, SpecGraph, json_depth
from apflow.spec.models import TaskTreeSpec
from apflow.spec.parse import load_raw, shape_issues, task_list
from apflow.spec.policy import ExecutorPolicy, Limits, default_policy
from apflow.spec.report import Issue, ValidationReport
from apflow.spec.structure import check_structure

#: Beyond this many times the limit, stop before parsing: the input is hostile or broken.
_HOPELESS_FACTOR = 10


def _too_many(count: int, limits: Limits) -> Issue:
    return Issue(
        code="too_many_tasks",
        path="tasks",
        message=f"the tree has {count} tasks; the limit is {limits.max_tasks}",
        hint=f"use at most {limits.max_tasks} tasks: merge small steps into one task, "
        "or split the workflow into several trees",
    )


def validate_tree(
    tree: Any,
    registry: ExecutorRegistry | None = None,
    *,
    policy: ExecutorPolicy | None = None,
    limits: Limits | None = None,
) -> ValidationReport:
    """Check a tree (JSON text, list, ``{"tasks": [...]}`` or TaskTreeSpec); never raises on
    bad content. ``registry=None`` uses the global registry; ``policy=None`` the default."""
    registry = registry if registry is not None else default_registry
    policy = policy if policy is not None else default_policy()
    limits = limits or Limits()
    issues: list[Issue] = []
    if isinstance(tree, TaskTreeSpec):
        spec = tree
        if len(spec.tasks) > limits.max_tasks:
            issues.append(_too_many(len(spec.tasks), limits))
    else:
        raw, problems = load_raw(tree)
        tasks, more = task_list(raw) if not problems else (None, [])
        if tasks is None:
            return ValidationReport(problems + more)
        if len(tasks) > limits.max_tasks:
            issues.append(_too_many(len(tasks), limits))
            if len(tasks) > limits.max_tasks * _HOPELESS_FACTOR:
                return ValidationReport(issues)
        try:
            spec = TaskTreeSpec.model_validate({"tasks": tasks})
        except ValidationError as exc:
            return ValidationReport(issues + shape_issues(exc, tasks))
    if not spec.tasks:
        empty = Issue(
            code="empty_tree",
            path="tasks",
            message="the tree has no tasks",
            hint='give at least one task, e.g. [{"id": "step", "schemas": {"method": '
            '"<executor id>"}, "inputs": {...}}]',
        )
        return ValidationReport([empty], spec)
    graph = SpecGraph(spec)
    issues += check_structure(spec, graph)
    issues += ContentChecker(registry, policy, limits).check(spec, graph)
    return ValidationReport(issues, spec)


#: Codes that make a tree impossible to store or run, whatever the registry holds.
STRUCTURAL_CODES = frozenset(
    {
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
        "bad_reference",
        "undeclared_reference",
        "invalid_priority",
        "input_too_large",
    }
)


def structural_report(spec: TaskTreeSpec) -> ValidationReport:
    """Only the checks that need no registry: ids, links, cycles, one root, references."""
    if not spec.tasks:
        return validate_tree(spec, registry=None)
    graph = SpecGraph(spec)
    issues = [i for i in check_structure(spec, graph) if i.code in STRUCTURAL_CODES]
    for index, task in enumerate(spec.tasks):
        if json_depth(task.inputs, MAX_SCAN_DEPTH) > MAX_SCAN_DEPTH:
            issues.append(
                Issue(
                    code="input_too_large",
                    task_id=task.id,
                    path=f"tasks[{index}].inputs",
                    message=f"inputs are nested more than {MAX_SCAN_DEPTH} levels deep",
                    hint="flatten the inputs",
                )
            )
        issues += reference_issues(index, task, graph)
        if isinstance(task.priority, bool) or not 0 <= task.priority <= 3:
            issues.append(
                Issue(
                    code="invalid_priority",
                    task_id=task.id,
                    path=f"tasks[{index}].priority",
                    message=f"priority must be an integer 0..3, got {task.priority!r}",
                    hint='set "priority" to 0 (most urgent), 1, 2 (normal) or 3 (low)',
                )
            )
    return ValidationReport(issues, spec)
