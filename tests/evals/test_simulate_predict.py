"""Schema-only executors, isolated case registries, and tree -> prediction mapping."""

from __future__ import annotations

from apflow.core.executor import TaskContext
from apflow.core.registry import default_registry
from apflow.evals.predict import predicted_tasks, rewrite_references
from apflow.evals.simulate import AGGREGATOR, case_registry, sample_value

TOOL = {
    "name": "geo_lookup",
    "description": "Find coordinates",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "limit": {"type": "integer"}},
        "required": ["city"],
    },
    "output_schema": {
        "type": "object",
        "properties": {
            "lat": {"type": "number"},
            "kind": {"type": "string", "enum": ["city", "town"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "meta": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
        },
    },
}


def test_sample_value_follows_the_schema():
    value = sample_value(TOOL["output_schema"])
    assert value == {"lat": 1.0, "kind": "city", "tags": ["sample tags"], "meta": {"ok": True}}
    assert sample_value({"type": "integer", "minimum": 5}) == 5
    assert sample_value({"default": "x", "type": "string"}) == "x"
    assert sample_value({"anyOf": [{"type": "boolean"}, {"type": "string"}]}) is True
    assert sample_value({}, "field") == "sample field"


def test_case_registry_is_isolated_and_holds_the_aggregator():
    registry = case_registry([TOOL])
    assert registry.ids() == [AGGREGATOR, "geo_lookup"]
    assert "geo_lookup" not in default_registry
    described = registry.describe("geo_lookup")
    assert described["input_schema"]["required"] == ["city"]
    assert described["description"] == "Find coordinates"


async def test_simulated_executor_checks_inputs_and_shapes_output():
    executor = case_registry([TOOL]).get("geo_lookup")
    ok = await executor.execute({"city": "Paris"})
    assert ok["status"] == "completed" and ok["result"]["kind"] == "city"
    bad = await executor.execute({"limit": "three"})
    assert bad["status"] == "failed" and bad["error_type"] == "validation_error"


async def test_injected_dependency_results_are_not_checked_as_inputs():
    from apflow.core.executor import DependencyOutcome

    strict = dict(TOOL, input_schema={**TOOL["input_schema"], "additionalProperties": False})
    executor = case_registry([strict]).get("geo_lookup")
    executor.context = TaskContext(
        task=None, dependencies=[DependencyOutcome("x1", "fetch", "completed", True, {"a": 1})]
    )
    assert (await executor.execute({"city": "Oslo", "fetch": {"a": 1}}))["status"] == "completed"


def test_prediction_drops_the_root_and_rewrites_references():
    tree = [
        {"id": "root", "schemas": {"method": AGGREGATOR}, "dependencies": ["a", "b"]},
        {"id": "a", "parent_id": "root", "schemas": {"method": "geo_lookup"}, "inputs": {}},
        {
            "id": "b",
            "parent_id": "root",
            "schemas": {"method": "llm"},
            "inputs": {
                "prompt": "Near ${a.result.lat} and ${a.result}",
                "n": "${a.result.tags[0]}",
            },
            "dependencies": [{"id": "a", "required": False}, {"id": "root"}],
        },
    ]
    assert predicted_tasks(tree) == [
        {"id": "a", "tool": "geo_lookup", "inputs": {}, "depends_on": []},
        {
            "id": "b",
            "tool": "llm",
            "inputs": {"prompt": "Near $a.lat$ and $a$", "n": "$a.tags[0]$"},
            "depends_on": ["a"],
        },
    ]


def test_rewrite_leaves_malformed_references_alone():
    assert rewrite_references({"x": ["${a.text}", 3]}) == {"x": ["${a.text}", 3]}
