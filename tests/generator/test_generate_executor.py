"""generate_executor: generate a tree from inputs, and optionally store and run it."""

from __future__ import annotations

import json

import pytest

from apflow.core.database import create_session
from apflow.core.registry import default_registry
from apflow.core.repository import TaskRepository

TREE = {
    "tasks": [
        {
            "id": "root",
            "schemas": {"method": "aggregate_results_executor"},
            "dependencies": ["info"],
        },
        {
            "id": "info",
            "parent_id": "root",
            "schemas": {"method": "system_info_executor"},
            "inputs": {"sections": ["python"]},
        },
    ]
}


@pytest.fixture
def scripted_model(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps([json.dumps(TREE)]))
    return f"scripted:{path}"


def test_generate_executor_is_registered_with_a_schema():
    described = default_registry.describe("generate_executor")
    assert described["input_schema"]["required"] == ["requirement"]
    assert "run" in described["input_schema"]["properties"]


async def test_returns_the_tree_and_stats(scripted_model):
    executor = default_registry.get("generate_executor")
    outcome = await executor.execute(
        {"requirement": "report the Python version", "model": scripted_model}
    )
    assert outcome["status"] == "completed", outcome
    result = outcome["result"]
    assert [t["id"] for t in result["tasks"]] == ["root", "info"]
    assert result["stats"]["llm_calls"] == 1
    assert "root_task_id" not in result


async def test_run_true_stores_and_runs_the_tree(scripted_model):
    executor = default_registry.get("generate_executor")
    outcome = await executor.execute(
        {
            "requirement": "report the Python version",
            "model": scripted_model,
            "run": True,
            "user_id": "ana",
        }
    )
    assert outcome["status"] == "completed", outcome
    result = outcome["result"]
    assert result["status"] == "completed", result
    assert "python" in result["result"]["info"]
    assert result["summary"]["completed"] == 1
    session = create_session()
    try:
        stored = await TaskRepository(session).get_tree(result["root_task_id"])
    finally:
        await session.close()
    assert {t.user_id for t in stored} == {"ana"}
    assert {t.status for t in stored} == {"completed"}


async def test_bad_inputs_and_failed_generation_are_failed_results(tmp_path):
    executor = default_registry.get("generate_executor")
    missing = await executor.execute({"mode": "single_shot"})
    assert missing["status"] == "failed" and missing["error_type"] == "validation_error"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(["not json at all"] * 3))
    outcome = await executor.execute({"requirement": "x", "model": f"scripted:{path}"})
    assert outcome["status"] == "failed" and outcome["error_type"] == "generation_failed"
    assert outcome["issues"][0]["code"] == "invalid_json"


async def test_unavailable_model_is_a_failed_result(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("APFLOW_API_BASE", raising=False)
    executor = default_registry.get("generate_executor")
    outcome = await executor.execute({"requirement": "x", "model": "openai/gpt-4o-mini"})
    assert outcome["status"] == "failed" and outcome["error_type"] == "model_unavailable"
    assert "OPENAI_API_KEY" in outcome["error"]


@pytest.mark.parametrize("mode", ["multi-phase", "multi_phase"])
async def test_both_spellings_of_multi_phase_are_accepted(tmp_path, mode):
    plan = {"steps": [{"id": "info", "does": "python version", "executor": "system_info_executor"}]}
    path = tmp_path / "model.json"
    path.write_text(json.dumps([json.dumps(plan), json.dumps(TREE)]))
    executor = default_registry.get("generate_executor")
    assert executor.validate_inputs({"requirement": "x", "mode": mode}) is None
    outcome = await executor.execute(
        {"requirement": "report the Python version", "model": f"scripted:{path}", "mode": mode}
    )
    assert outcome["status"] == "completed", outcome
    assert (
        outcome["result"]["mode"] == "multi_phase" and outcome["result"]["stats"]["llm_calls"] == 2
    )


def test_generation_mode_parses_both_spellings_and_names_them_when_wrong():
    from apflow.core.errors import GenerationError
    from apflow.generator import GenerationMode

    assert GenerationMode.parse("Single-Shot") is GenerationMode.SINGLE_SHOT
    assert GenerationMode.parse(None) is GenerationMode.SINGLE_SHOT
    assert GenerationMode.parse("multi_phase").cli_name == "multi-phase"
    with pytest.raises(GenerationError, match="unknown generation mode") as info:
        GenerationMode.parse("two-shot")
    assert "single-shot, multi-phase, baseline" in info.value.hint
