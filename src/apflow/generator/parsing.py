"""Reading tree and plan answers: their JSON (apflow.llm.json_answer) as tasks or steps."""

from __future__ import annotations

import json
from typing import Any

from apflow.llm.json_answer import JSONParseError


def tasks_from(value: Any) -> list[Any]:
    """Normalise a tree answer: a list, ``{"tasks": [...]}``, or a single task object."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in ("tasks", "tree", "task_tree"):
            inner = value.get(key)
            if isinstance(inner, list):
                return inner
            if isinstance(inner, dict):
                return tasks_from(inner)
        if "id" in value or "schemas" in value:
            return [value]
    raise JSONParseError(
        'expected {"tasks": [...]} or a list of tasks, got '
        + (
            f"an object with keys {sorted(value)[:6]}"
            if isinstance(value, dict)
            else type(value).__name__
        ),
        json.dumps(value)[:200],
    )


def steps_from(value: Any) -> list[dict[str, Any]]:
    """Normalise a plan answer: ``{"steps": [...]}`` or a bare list of step objects."""
    steps = value.get("steps", value.get("plan")) if isinstance(value, dict) else value
    if isinstance(steps, list) and steps and all(isinstance(s, dict) for s in steps):
        return steps
    raise JSONParseError(
        'expected {"steps": [{"id", "does", "executor", "needs"}, ...]}', str(value)[:200]
    )
