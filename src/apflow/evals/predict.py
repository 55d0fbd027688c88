"""Map a generated task tree to the predicted task list the metrics compare.

A tree task becomes ``{"id", "tool", "inputs", "depends_on"}``; the aggregator root is not a
tool call and is dropped (with edges to or from it). Engine references
``${task.result.field}`` are rewritten to the dataset convention ``$task.field$`` so the
scorer can resolve them to the producing tool.
"""

from __future__ import annotations

import re
from typing import Any

from apflow.evals.simulate import AGGREGATOR

_ENGINE_REF = re.compile(r"\$\{\s*([A-Za-z0-9_\-]+)\.result((?:[.\[][^{}]*)?)\s*\}")


def tree_tasks(tree: Any) -> list[dict[str, Any]]:
    """The task dicts of a tree given as a spec model, ``{"tasks": [...]}`` or a list."""
    if hasattr(tree, "to_list"):
        tree = tree.to_list()
    elif hasattr(tree, "model_dump"):
        tree = tree.model_dump(mode="json")
    if isinstance(tree, dict):
        tree = tree.get("tasks", [])
    return [t for t in tree if isinstance(t, dict)] if isinstance(tree, list) else []


def _executor(task: dict[str, Any]) -> str:
    schemas = task.get("schemas")
    if isinstance(schemas, dict) and schemas.get("method"):
        return str(schemas["method"])
    return str(task.get("executor") or task.get("tool") or task.get("name") or "")


def _dependency_ids(task: dict[str, Any]) -> list[str]:
    ids = []
    for dep in task.get("dependencies") or task.get("depends_on") or []:
        dep_id = dep.get("id") if isinstance(dep, dict) else dep
        if dep_id is not None:
            ids.append(str(dep_id))
    return ids


def rewrite_references(value: Any) -> Any:
    """``${t.result.a.b}`` -> ``$t.a.b$`` everywhere inside a JSON value."""
    if isinstance(value, str):
        return _ENGINE_REF.sub(lambda m: f"${m.group(1)}{m.group(2)}$", value)
    if isinstance(value, list):
        return [rewrite_references(v) for v in value]
    if isinstance(value, dict):
        return {k: rewrite_references(v) for k, v in value.items()}
    return value


def predicted_tasks(tree: Any) -> list[dict[str, Any]]:
    """The tool calls of a tree, aggregator root excluded."""
    tasks = tree_tasks(tree)
    kept = {str(t.get("id")) for t in tasks if _executor(t) and _executor(t) != AGGREGATOR}
    out = []
    for task in tasks:
        tool = _executor(task)
        if str(task.get("id")) not in kept:
            continue
        inputs = task.get("inputs") if isinstance(task.get("inputs"), dict) else {}
        out.append(
            {
                "id": str(task.get("id")),
                "tool": tool,
                "inputs": rewrite_references(inputs),
                "depends_on": [d for d in _dependency_ids(task) if d in kept],
            }
        )
    return out
