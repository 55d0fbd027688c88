"""Every built-in executor's schemas are what the generator needs to show a model."""

from __future__ import annotations

import pytest

from apflow.core.registry import default_registry

BUILTINS = [
    "rest_executor",
    "scrape_executor",
    "llm_executor",
    "transform_executor",
    "sql_executor",
    "mcp_tool_executor",
    "system_info_executor",
    "command_executor",
    "aggregate_results_executor",
]


@pytest.mark.parametrize("executor_id", BUILTINS)
def test_schema_has_descriptions_and_accepts_injected_dependency_keys(executor_id):
    info = default_registry.describe(executor_id)
    assert info["description"] and info["output_schema"]
    schema = info["input_schema"]
    assert schema.get("additionalProperties", True) is not False
    undocumented = [
        name for name, prop in schema.get("properties", {}).items() if not prop.get("description")
    ]
    assert not undocumented, f"{executor_id}: add descriptions for {undocumented}"


@pytest.mark.parametrize("executor_id", BUILTINS)
async def test_unknown_extra_keys_do_not_fail_validation(executor_id):
    executor = default_registry.get(executor_id)
    problem = executor.validate_inputs({"some_dependency": {"x": 1}})
    # Only a missing required field may be reported, never the extra key.
    assert problem is None or "some_dependency" not in problem["error"]
