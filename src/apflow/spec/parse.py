"""Turn untrusted input (JSON text, a list, ``{"tasks": [...]}``) into a TaskTreeSpec.

Shape problems become ``invalid_json`` / ``invalid_shape`` issues with the pydantic
location turned into a path, so a model re-asked with them knows where to look.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from apflow.core.errors import ValidationFailed
from apflow.core.task_fields import MAX_PRIORITY, MIN_PRIORITY
from apflow.spec.graph import MAX_SCAN_DEPTH
from apflow.spec.limits import (
    Limits,
    document_too_large,
    plain_json_text,
    raw_tasks,
    safe_text,
    scan,
    text_size,
)
from apflow.spec.models import TASK_FIELDS, TaskTreeSpec
from apflow.spec.report import Issue, ValidationReport, path_of

_EXAMPLE = '[{"id": "root", "schemas": {"method": "aggregate_results_executor"}}, ...]'


def load_raw(obj: Any) -> tuple[Any, list[Issue]]:
    """JSON text -> Python; any other object is returned as is."""
    if isinstance(obj, (bytes, bytearray)):
        obj = obj.decode("utf-8", errors="replace")
    if not isinstance(obj, str):
        return obj, []
    try:
        return json.loads(obj), []
    except RecursionError:
        issue = Issue(
            code="invalid_json",
            message="the JSON is nested too deeply to read",
            hint="return a flat JSON list of task objects; keep inputs a few levels deep",
        )
        return None, [issue]
    except json.JSONDecodeError as exc:
        issue = Issue(
            code="invalid_json",
            message=f"the tree is not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})",
            hint="return only a JSON list of task objects, with double-quoted keys and no "
            "comments, trailing commas or text around it",
        )
        return None, [issue]
    except ValueError as exc:  # Python refuses integers longer than 4,300 digits
        issue = Issue(
            code="invalid_json",
            message=f"the JSON cannot be read: {safe_text(str(exc), 120)}",
            hint="write numbers with at most a few dozen digits (quote longer ones as strings)",
        )
        return None, [issue]


def task_list(raw: Any) -> tuple[list[Any] | None, list[Issue]]:
    """The list of task objects inside ``raw``, or an ``invalid_shape`` issue."""
    if isinstance(raw, TaskTreeSpec):
        return raw_tasks(raw), []
    if isinstance(raw, dict) and "tasks" in raw:
        raw = raw["tasks"]
    if isinstance(raw, list):
        return raw, []
    if isinstance(raw, dict) and "id" in raw:
        hint = "wrap the single task object in a list: [ {...} ]"
    else:
        hint = f'give a JSON list of task objects (or {{"tasks": [...]}}), e.g. {_EXAMPLE}'
    kind = type(raw).__name__ if raw is not None else "null"
    issue = Issue(
        code="invalid_shape",
        path="",
        message=f"the tree must be a list of tasks, got {kind}",
        hint=hint,
    )
    return None, [issue]


def _task_id(raw: list[Any], index: Any) -> str | None:
    if isinstance(index, int) and 0 <= index < len(raw) and isinstance(raw[index], dict):
        value = raw[index].get("id")
        return value if isinstance(value, str) else None
    return None


_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a JSON list",
    "dict_type": "a JSON object",
    "model_type": "a JSON object",
}


def _json_type(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}
    names.update({list: "a list", dict: "an object", type(None): "null"})
    return names.get(type(value), type(value).__name__)


def _shape_hint(err: dict[str, Any], field: str, loc: list[Any]) -> str:
    kind = err["type"]
    if "dependencies" in loc and isinstance(loc[-1], int):
        return 'write each dependency as "task_id" or {"id": "task_id", "required": true}'
    if len(loc) == 1 and kind in ("model_type", "dict_type"):
        return 'write each task as a JSON object: {"id": ..., "schemas": {"method": ...}, ...}'
    if kind == "missing" and field == "schemas":
        return 'add "schemas": {"method": "<executor id>"} naming one of the available executors'
    if kind == "missing" and field == "method":
        return 'set "schemas": {"method": "<executor id>"} to one of the available executors'
    if kind == "missing":
        return f'add the field "{field}"'
    if kind == "extra_forbidden":
        return f'remove the field "{field}"; a task may only have: {", ".join(TASK_FIELDS)}'
    if kind == "string_pattern_mismatch":
        return "use only letters, digits, '_' and '-' in task ids, e.g. \"fetch_page\""
    if kind in _TYPE_WORDS:
        return f'make "{field}" {_TYPE_WORDS[kind]}'
    return f'change "{field}": {err["msg"][:1].lower()}{err["msg"][1:]}'


def shape_issues(exc: ValidationError, raw: list[Any]) -> list[Issue]:
    """One issue per pydantic error; priority errors get their own code."""
    issues = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        if loc and loc[0] == "tasks":
            loc = loc[1:]
        index = loc[0] if loc else None
        field = next((str(p) for p in reversed(loc) if isinstance(p, str)), "task")
        if len(loc) >= 2 and loc[1] == "priority":
            issues.append(
                Issue(
                    code="invalid_priority",
                    task_id=_task_id(raw, index),
                    path=path_of("tasks", *loc),
                    message=f"priority must be an integer {MIN_PRIORITY}..{MAX_PRIORITY}, got "
                    + safe_text(err.get("input")),
                    hint='set "priority" to 0 (most urgent), 1, 2 (normal) or 3 (low)',
                )
            )
            continue
        fixable = err["type"] == "extra_forbidden" and len(loc) == 2
        got = _json_type(err.get("input"))
        if isinstance(index, int) and len(loc) == 1 and err["type"] in ("model_type", "dict_type"):
            msg = f"task {index} must be a JSON object, got {got}"
        elif err["type"] in _TYPE_WORDS:
            msg = f"{field} must be {_TYPE_WORDS[err['type']]}, got {got}"
        else:
            msg = f"{field}: {err['msg']}"
        issues.append(
            Issue(
                code="invalid_shape",
                task_id=_task_id(raw, index),
                path=path_of("tasks", *loc),
                message=msg,
                hint=_shape_hint(err, field, loc),
                fixable=fixable,
            )
        )
    return issues


def parse_spec(obj: Any) -> tuple[list[Any] | None, TaskTreeSpec | None, list[Issue]]:
    """(raw task list, parsed spec, issues); the spec is None when any shape issue exists."""
    if isinstance(obj, TaskTreeSpec):
        return None, obj, []
    raw, issues = load_raw(obj)
    if issues:
        return None, None, issues
    tasks, issues = task_list(raw)
    if tasks is None:
        return None, None, issues
    try:
        return tasks, TaskTreeSpec.model_validate({"tasks": tasks}), []
    except ValidationError as exc:
        return tasks, None, shape_issues(exc, tasks)


def parse_tree(obj: Any) -> TaskTreeSpec:
    """Parse JSON text, a list, ``{"tasks": [...]}`` or a TaskTreeSpec.

    Checks shape only (not structure); raises ValidationFailed with the shape issues.
    """
    _raw, spec, issues = parse_spec(obj)
    if spec is None:
        raise ValidationFailed(ValidationReport(issues))
    return spec


def load_within_limits(tree: Any, limits: Limits) -> tuple[list[Any] | None, list[Issue]]:
    """The tasks of ``tree`` (JSON text, a list or ``{"tasks": [...]}``) as plain values,
    or None with the issues that stop everything else: size, unreadable JSON, no task
    list, a limit. One pipeline for ``validate_tree`` and ``repair_tree``; JSON text gets
    the C-speed scans of :func:`plain_json_text` instead of the per-value walk."""
    size = text_size(tree, limits.max_document_bytes)
    if size > limits.max_document_bytes:
        return None, [document_too_large(size, limits)]
    raw, problems = load_raw(tree)
    tasks, more = task_list(raw) if not problems else (None, [])
    if tasks is None:
        return None, problems + more
    tasks = raw_tasks(tasks)
    plain = isinstance(tree, str) and plain_json_text(
        tree, min(limits.max_input_depth, MAX_SCAN_DEPTH)
    )
    problems = scan(tasks, limits, text_checked=size > 0, plain=plain)
    return (None, problems) if problems else (tasks, [])
