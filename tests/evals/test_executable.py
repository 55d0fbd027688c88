"""Executability: a valid tree runs through the real engine with simulated executors."""

from __future__ import annotations

from apflow.evals.executable import ExecutabilityChecker
from apflow.evals.simulate import case_registry

TOOLS = [
    {
        "name": "fetch",
        "input_schema": {
            "type": "object",
            "properties": {"url": {"type": "string"}},
            "required": ["url"],
        },
        "output_schema": {"type": "object", "properties": {"text": {"type": "string"}}},
    },
    {
        "name": "count",
        "input_schema": {
            "type": "object",
            "properties": {"n": {"type": "integer"}, "text": {"type": "string"}},
        },
        "output_schema": {"type": "object", "properties": {"total": {"type": "integer"}}},
    },
]


def _tree(count_inputs):
    return [
        {
            "id": "root",
            "schemas": {"method": "aggregate_results_executor"},
            "dependencies": ["f", "c"],
        },
        {
            "id": "f",
            "parent_id": "root",
            "schemas": {"method": "fetch"},
            "inputs": {"url": "https://x.org"},
        },
        {
            "id": "c",
            "parent_id": "root",
            "schemas": {"method": "count"},
            "inputs": count_inputs,
            "dependencies": ["f"],
        },
    ]


async def test_wired_tree_runs_to_completion(tmp_path):
    runner = ExecutabilityChecker(tmp_path)
    check = await runner.check(_tree({"text": "${f.result.text}"}), case_registry(TOOLS))
    await runner.close()
    assert check.executable, check.detail


async def test_reference_to_a_missing_output_field_is_not_executable(tmp_path):
    runner = ExecutabilityChecker(tmp_path)
    check = await runner.check(_tree({"text": "${f.result.body}"}), case_registry(TOOLS))
    await runner.close()
    assert not check.executable
    assert "c: failed" in check.detail


async def test_referenced_values_are_not_type_checked_but_literals_are(tmp_path):
    # Datasets often declare a producer's field as one type and the consumer's as another;
    # the simulated value says nothing about the tree, so only literals are type-checked.
    runner = ExecutabilityChecker(tmp_path)
    registry = case_registry(TOOLS)
    referenced = await runner.check(_tree({"n": "${f.result.text}"}), registry)
    literal = await runner.check(_tree({"n": "three", "text": "${f.result.text}"}), registry)
    await runner.close()
    assert referenced.executable, referenced.detail
    assert not literal.executable
    assert "validation_error" in literal.detail and "at n" in literal.detail


async def test_missing_required_input_is_not_executable(tmp_path):
    strict = [
        TOOLS[0],
        {**TOOLS[1], "input_schema": {**TOOLS[1]["input_schema"], "required": ["n"]}},
    ]
    runner = ExecutabilityChecker(tmp_path)
    check = await runner.check(_tree({"text": "${f.result.text}"}), case_registry(strict))
    await runner.close()
    assert not check.executable and "'n' is a required property" in check.detail
