"""Executability: a valid tree runs through the real engine with simulated executors."""

from __future__ import annotations

from apflow.evals.executable import TreeRunner
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
    runner = TreeRunner(tmp_path)
    check = await runner.check(_tree({"text": "${f.result.text}"}), case_registry(TOOLS))
    await runner.close()
    assert check.executable, check.detail


async def test_reference_to_a_missing_output_field_is_not_executable(tmp_path):
    runner = TreeRunner(tmp_path)
    check = await runner.check(_tree({"text": "${f.result.body}"}), case_registry(TOOLS))
    await runner.close()
    assert not check.executable
    assert "c: failed" in check.detail


async def test_wrongly_typed_resolved_input_is_not_executable(tmp_path):
    runner = TreeRunner(tmp_path)
    check = await runner.check(_tree({"n": "${f.result.text}"}), case_registry(TOOLS))
    await runner.close()
    assert not check.executable
    assert "validation_error" in check.detail
