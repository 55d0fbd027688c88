"""JSON Schemas of each phase's answer, for structured output and grammar-constrained decoding.

Deliberately small (bare-string dependencies, free-form inputs): backends that compile a
schema into a grammar stay fast, and the executor enum keeps the model to what is offered.
"""

from __future__ import annotations

from typing import Any

AGGREGATOR = "aggregate_results_executor"


def tree_schema(executor_ids: list[str]) -> dict[str, Any]:
    """``{"tasks": [...]}`` of working tasks, each method limited to ``executor_ids``.

    No ``parent_id`` and no aggregator: the root is added by deterministic repair, which
    is cheaper and more reliable than asking a small model for it.
    """
    working = sorted(i for i in executor_ids if i != AGGREGATOR) or sorted(executor_ids)
    task = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
            "schemas": {
                "type": "object",
                "properties": {"method": {"type": "string", "enum": working}},
                "required": ["method"],
            },
            "inputs": {"type": "object"},
            "dependencies": {
                "type": "array",
                "items": {
                    "anyOf": [
                        {"type": "string"},
                        {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "required": {"type": "boolean"},
                            },
                            "required": ["id", "required"],
                        },
                    ]
                },
            },
        },
        "required": ["id", "schemas", "inputs"],
    }
    return {
        "type": "object",
        "properties": {"tasks": {"type": "array", "items": task, "minItems": 1}},
        "required": ["tasks"],
    }


def plan_schema(executor_ids: list[str]) -> dict[str, Any]:
    """``{"steps": [{"id", "does", "executor", "needs"}]}``."""
    step = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
            "does": {"type": "string"},
            "executor": {"type": "string", "enum": sorted(executor_ids)},
            "needs": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["id", "does", "executor", "needs"],
    }
    return {
        "type": "object",
        "properties": {"steps": {"type": "array", "items": step, "minItems": 1}},
        "required": ["steps"],
    }
