"""Schema-only executors: a case's tools as executors that exist only for one eval case.

Each tool becomes a class with the tool's description and schemas whose ``execute`` checks
its inputs and returns a value shaped by the tool's output schema, so a generated tree can
be validated and run end to end without touching the outside world.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

from apflow.core.executor import BaseTask, Effect, completed, failed
from apflow.core.registry import ExecutorRegistry
from apflow.executors.aggregate import AggregateResultsExecutor

AGGREGATOR = "aggregate_results_executor"
_MAX_DEPTH = 6


def sample_value(schema: Any, name: str = "value", depth: int = 0) -> Any:
    """A deterministic value that satisfies a (simple) JSON Schema."""
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return f"sample {name}"
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return sample_value(schema[key][0], name, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties") or {}
        return {k: sample_value(v, k, depth + 1) for k, v in props.items()}
    if kind == "array":
        return [sample_value(schema.get("items") or {}, name, depth + 1)]
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return f"sample {name}"


def _referenced_keys(raw_inputs: Any) -> set[str]:
    """Inputs whose stored value holds a ``${...}`` reference to an earlier result."""
    if not isinstance(raw_inputs, dict):
        return set()
    return {k for k, v in raw_inputs.items() if "${" in json.dumps(v, default=str)}


def _input_problem(
    schema: dict[str, Any], inputs: dict[str, Any], referenced: set[str]
) -> str | None:
    """The first schema violation, ignoring the shape of values that came from references.

    A referenced value is whatever the simulated producer made up from *its* output schema;
    datasets often declare the producer's field as a number and the consumer's as a string,
    so its type says nothing about the tree. Missing required inputs still count.
    """
    for error in sorted(
        Draft202012Validator(schema).iter_errors(inputs), key=lambda e: list(e.absolute_path)
    ):
        path = list(error.absolute_path)
        if path and str(path[0]) in referenced:
            continue
        where = "/".join(str(x) for x in path) or "inputs"
        return f"invalid input at {where}: {error.message}"
    return None


def _effect_of(tool: dict[str, Any]) -> Any:
    """The tool's declared effect, or the real executor's for a tool named like a built-in
    (the builtin and user-dev suites describe apflow's own executors, whose effect depends
    on the inputs: a GET reads, a POST writes)."""
    declared = tool.get("effects")

    def effect(self: BaseTask, inputs: dict[str, Any]) -> Effect | None:
        if declared in ("read", "write"):
            return Effect(declared)
        from apflow.core.registry import default_registry

        if tool["name"] in default_registry and tool["name"] != AGGREGATOR:
            return default_registry.get(tool["name"]).effect(inputs)
        return None

    return effect


def _builtin_unasked(name: str) -> tuple[str, ...]:
    """The real executor's ``unasked_inputs`` for a tool named like a built-in, so the
    grammar an eval decodes under is the one users get."""
    from apflow.core.registry import default_registry

    if name in default_registry and name != AGGREGATOR:
        return tuple(getattr(default_registry.get_class(name), "unasked_inputs", ()) or ())
    return ()


def simulated_executor(tool: dict[str, Any]) -> type[BaseTask]:
    """An executor class for one dataset tool entry (``name``, ``description``, schemas)."""
    input_schema = tool.get("input_schema") or {"type": "object"}
    output_schema = tool.get("output_schema") or None

    async def execute(self: BaseTask, inputs: dict[str, Any]) -> dict[str, Any]:
        # The engine also injects each dependency's result under its key; the tool never
        # asked for those, so they are not part of what its schema checks.
        injected = {d.key for d in (self.context.dependencies if self.context else [])}
        declared = set((input_schema.get("properties") or {}).keys())
        own = {k: v for k, v in inputs.items() if k in declared or k not in injected}
        raw = getattr(self.context.task, "inputs", None) if self.context else None
        problem = _input_problem(input_schema, own, _referenced_keys(raw))
        if problem:
            return failed(problem, "validation_error")
        if output_schema is None:
            return completed({"output": f"sample output of {tool['name']}"})
        value = sample_value(output_schema, tool["name"])
        if value is None:
            return failed(f"{tool['name']}: output schema gives no value", "simulation_error")
        return completed(value)

    def input_refusal(self: BaseTask, inputs: dict[str, Any], injected: Any = None) -> None:
        return None  # execute checks, knowing which values are made-up upstream results

    attrs = {
        "unasked_inputs": tuple(tool.get("unasked_inputs") or _builtin_unasked(tool["name"])),
        "input_refusal": input_refusal,
        "effects": tool.get("effects"),
        "effect": _effect_of(tool),
        "id": tool["name"],
        "name": tool["name"],
        "description": (tool.get("description") or tool["name"]).strip(),
        "input_schema": input_schema,
        "output_schema": output_schema,
        "offer_when": tool.get("offer_when") or "",
        "execute": execute,
        "__module__": __name__,
    }
    return type(f"Simulated_{tool['name']}", (BaseTask,), attrs)


def case_registry(tools: list[dict[str, Any]]) -> ExecutorRegistry:
    """An isolated registry holding a case's tools plus the aggregator root."""
    registry = ExecutorRegistry()
    registry.register(AggregateResultsExecutor)
    for tool in tools:
        if tool["name"] == AGGREGATOR:
            continue
        registry.register(simulated_executor(tool), id=tool["name"], override=True)
    return registry
