"""Per-task content checks: size, priority, executor, policy, input schema, references.

Rule for required inputs (documented in docs/spec.md): a required top-level field counts as
present when the task gives it (any value; a ``${dep.result...}`` reference stands for a
value of the right type), or when one of the task's *required* dependencies has the field's
name as its id, because the engine injects each completed dependency's result under the
dependency's id (an optional one may fail and inject nothing).
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from jsonschema import Draft202012Validator

from apflow.core import references
from apflow.core.errors import ExecutorNotFound
from apflow.core.input_schema import fast_validator as _fast_validator
from apflow.core.input_schema import schema_key
from apflow.core.input_schema import validator as _validator
from apflow.core.registry import ExecutorRegistry
from apflow.spec.graph import SpecGraph
from apflow.spec.models import AGGREGATOR, TaskSpec, TaskTreeSpec
from apflow.spec.policy import ExecutorPolicy
from apflow.spec.report import ISSUES_PER_TASK, Issue, cap_per_code, path_of
from apflow.spec.snap import snap_executor

_COMBINATORS = {"anyOf", "oneOf", "allOf", "not", "if", "then", "else"}


def closest_ids(
    executor_id: str, registry: ExecutorRegistry, n: int = 3, policy: ExecutorPolicy | None = None
) -> list[str]:
    """The n registered ids most like ``executor_id`` that the policy allows (the aggregator
    only when the name asks for it): the registry's suggestions, topped up by similarity."""
    wanted = executor_id.lower()

    def usable(i: str) -> bool:
        if policy is not None and not policy.allows(i):
            return False
        return i != AGGREGATOR or "aggreg" in wanted

    close = [i for i in registry.closest(executor_id, n) if usable(i)]
    ranked = sorted(
        (i for i in registry.ids() if i not in close and usable(i)),
        key=lambda i: (-difflib.SequenceMatcher(None, wanted, i.lower()).ratio(), i),
    )
    return (close + ranked)[:n]


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ContentChecker:
    """Checks each task against the registry and policy; caches schemas per executor."""

    def __init__(
        self,
        registry: ExecutorRegistry,
        policy: ExecutorPolicy,
    ) -> None:
        """Depth and size of inputs are :func:`apflow.spec.limits.scan`'s job (run first)."""
        self.registry = registry
        self.policy = policy
        self._validators: dict[str, Draft202012Validator | None] = {}
        self._fast: dict[str, Any] = {}

    def validator(self, executor_id: str) -> Draft202012Validator | None:
        """The input-schema validator of a registered executor; None when it is unknown."""
        if executor_id not in self._validators:
            try:
                schema = self.registry.get(executor_id).get_input_schema()
            except ExecutorNotFound:
                self._validators[executor_id] = None
            else:
                key = schema_key(schema)
                self._validators[executor_id] = _validator(key)
                self._fast[executor_id] = _fast_validator(key)
        return self._validators[executor_id]

    def _valid_fast(self, task: TaskSpec, refs: list[tuple[tuple, str, Any]]) -> bool:
        """True when the compiled validator finds no error outside values that come from
        references (whose type is known only at run time); False means "ask jsonschema"."""
        fast = self._fast.get(task.executor)
        if fast is None:
            return False
        try:
            if fast.is_valid(task.inputs):
                return True
            if not refs:
                return False
            ref_paths = [path for path, _raw, _ref in refs]
            for error in fast.iter_errors(task.inputs):
                where = tuple(error.instance_path)
                if not any(where[: len(p)] == p for p in ref_paths):
                    return False
            return True
        except Exception:  # a value the compiled validator cannot take: jsonschema decides
            return False

    def check(self, spec: TaskTreeSpec, graph: SpecGraph) -> list[Issue]:
        issues: list[Issue] = []
        for i, task in enumerate(spec.tasks):
            issues += self._executor(i, task, graph)
            issues += reference_issues(i, task, graph)
        return issues

    def _executor(self, i: int, task: TaskSpec, graph: SpecGraph) -> list[Issue]:
        where = path_of("tasks", i, "schemas", "method")
        validator = self.validator(task.executor)
        if validator is None:
            close = closest_ids(task.executor, self.registry, 3, self.policy)
            snapped = snap_executor(task.executor, self.registry.ids())
            hint = (
                f"use a registered executor id, e.g. {', '.join(repr(c) for c in close)}"
                if close
                else "use a registered executor id (run `apflow executors list`)"
            )
            if snapped:
                hint = f'use "{snapped}" (the registered id this name most likely means)'
            return [
                Issue(
                    code="unknown_executor",
                    task_id=task.id,
                    path=where,
                    message=f"no executor is registered under {task.executor!r}",
                    hint=hint,
                    fixable=snapped is not None,
                )
            ]
        issues = []
        if not self.policy.allows(task.executor):
            issues.append(
                Issue(
                    code="disallowed_executor",
                    task_id=task.id,
                    path=where,
                    message=f"executor {task.executor!r} is not allowed here: "
                    + self.policy.reason(task.executor),
                    hint="do the step with another executor, or leave it out of the tree",
                )
            )
        return issues + self._inputs(i, task, validator, graph)

    def _inputs(
        self, i: int, task: TaskSpec, validator: Draft202012Validator, graph: SpecGraph
    ) -> list[Issue]:
        refs = graph.refs(i)
        if self._valid_fast(task, refs):
            return []
        ref_paths = [path for path, _raw, _ref in refs]
        injected = {d.id for d in task.dependencies if d.required}
        issues: list[Issue] = []
        seen: set[str] = set()
        for error in validator.iter_errors(task.inputs):
            where = tuple(error.absolute_path)
            if any(where[: len(p)] == p for p in ref_paths):
                continue  # the value comes from a reference: its type is known only at run time
            if error.validator in _COMBINATORS and any(p[: len(where)] == where for p in ref_paths):
                continue
            for field_path, message, hint in self._explain(error, where, injected, task):
                path = path_of("tasks", i, "inputs", *field_path)
                if path in seen:
                    continue
                if len(issues) >= ISSUES_PER_TASK:
                    return [*issues, self._more_inputs(i, task)]
                seen.add(path)
                issues.append(
                    Issue(
                        code="invalid_inputs",
                        task_id=task.id,
                        path=path,
                        message=message,
                        hint=hint,
                    )
                )
        return issues

    @staticmethod
    def _more_inputs(i: int, task: TaskSpec) -> Issue:
        return Issue(
            code="invalid_inputs",
            task_id=task.id,
            path=path_of("tasks", i, "inputs"),
            message=f"the inputs have more problems than the {ISSUES_PER_TASK} listed above",
            hint="fix the ones listed above (the rest are often alike), then validate again",
        )

    def _explain(
        self, error: Any, where: tuple, injected: set[str], task: TaskSpec
    ) -> list[tuple[tuple, str, str]]:
        instance = error.instance if isinstance(error.instance, dict) else {}
        props = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        if error.validator == "required":
            out = []
            for name in error.validator_value:
                if name in instance or (not where and name in injected):
                    continue
                about = props.get(name, {})
                kind = f" ({about['type']})" if isinstance(about.get("type"), str) else ""
                desc = f": {about['description']}" if about.get("description") else ""
                dotted = ".".join(str(p) for p in (*where, name))
                out.append(
                    (
                        (*where, name),
                        f"required input {dotted!r}{kind} of {task.executor} is missing{desc}",
                        f"set inputs.{dotted} to a literal value, or to "
                        f'"${{<dependency id>.result.<field>}}" from a task it depends on',
                    )
                )
            return out
        if error.validator == "additionalProperties":
            extra = [k for k in instance if k not in props]
            allowed = ", ".join(sorted(props)) or "none"
            return [
                (
                    (*where, key),
                    f"{task.executor} does not accept the input {key!r}",
                    f"remove inputs.{'.'.join(str(p) for p in (*where, key))}; "
                    f"accepted inputs: {allowed}",
                )
                for key in extra
            ]
        dotted = ".".join(str(p) for p in where) or "(inputs)"
        if error.validator == "enum":
            hint = f"set inputs.{dotted} to one of {_short(error.validator_value)}"
        elif error.validator == "type":
            hint = f"make inputs.{dotted} a JSON {_short(error.validator_value)}"
        else:
            hint = (
                f"change inputs.{dotted} to match the schema of {task.executor}: "
                f"{_short(error.schema)}"
            )
        return [(where, f"inputs.{dotted}: {_short(error.message)}", hint)]


def reference_issues(i: int, task: TaskSpec, graph: SpecGraph) -> list[Issue]:
    """bad_reference / undeclared_reference issues of one task (no registry needed); the
    first ISSUES_PER_TASK of each code one by one, the rest summed up in one issue."""
    refs = graph.refs(i)
    if not refs:
        return []
    issues = []
    declared = set(task.dependency_ids())
    Reference = references.Reference
    problems = [
        ("undeclared_reference", ref.task_id, k)
        if isinstance(ref, Reference)
        else ("bad_reference", raw, k)
        for k, (_path, raw, ref) in enumerate(refs)
        if not isinstance(ref, Reference) or ref.task_id not in declared
    ]
    listed, more = cap_per_code(problems)
    for code, k in listed:
        path, raw, ref = refs[k]
        where = path_of("tasks", i, "inputs", *path)
        if code == "bad_reference":
            issues.append(
                Issue(
                    code="bad_reference",
                    task_id=task.id,
                    path=where,
                    message=f"{_short(raw, 80)} is not a valid reference",
                    hint="write ${task_id.result} or ${task_id.result.field.sub_field} "
                    "(or ${task_id.result.items[0]}), where task_id is a dependency's id",
                )
            )
        else:
            issues.append(_undeclared(i, task, ref, raw, where, graph))
    for code, examples in more.items():
        distinct = sorted(set(examples))
        shown_text = ", ".join(_short(e, 40) for e in distinct[:5])
        shown_text += ", ..." if len(distinct) > 5 else ""
        what = "malformed references" if code == "bad_reference" else "references to tasks "
        what += "" if code == "bad_reference" else "it does not depend on or that do not exist"
        issues.append(
            Issue(
                code=code,
                task_id=task.id,
                path=path_of("tasks", i, "inputs"),
                message=f"and {len(examples)} more {what} ({shown_text})",
                hint="fix them like the ones listed above, then validate again",
            )
        )
    return issues


def _undeclared(i: int, task: TaskSpec, ref: Any, raw: str, where: str, graph: SpecGraph) -> Issue:
    target = ref.task_id
    if target == task.id:
        message, hint, fixable = (
            f"{raw} refers to the task's own result, which does not exist yet",
            "reference the result of a task this one depends on instead",
            False,
        )
    elif target in graph.index:
        # A duplicate's edges are ambiguous (ids resolve to the first task), so only the
        # first task with an id gets a dependency added by repair.
        first = graph.index[task.id] == i
        closes_cycle = first and graph.depends_on(target, task.id)
        fixable = first and not closes_cycle
        message = f"{raw} uses the result of {target!r}, but the task does not depend on it"
        hint = f'add "{target}" to the dependencies of "{task.id}"'
        if closes_cycle:
            hint = f"{target!r} runs after this task; reference a task that runs before it"
    else:
        deps = ", ".join(sorted(set(task.dependency_ids()))) or "none"
        message = f"{raw} refers to {target!r}, which is not a task in this tree"
        hint = f"reference one of this task's dependencies (currently: {deps})"
        fixable = False
    return Issue(
        code="undeclared_reference",
        task_id=task.id,
        path=where,
        message=message,
        hint=hint,
        fixable=fixable,
    )
