"""The MCP tools and resources through the SDK's real Client, in memory."""

import asyncio
import json

import pytest

from apflow.mcp import build_server
from mcp import Client, MCPError
from tests.mcp.conftest import TREE


def _nap_tree(seconds=30):
    return [
        {"id": "root", "schemas": {"method": "aggregate_results_executor"}, "dependencies": ["a"]},
        {
            "id": "a",
            "parent_id": "root",
            "schemas": {"method": "nap_executor"},
            "inputs": {"seconds": seconds},
        },
    ]


async def test_tools_have_typed_input_and_output_schemas(server):
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {
        "generate_task_tree",
        "validate_task_tree",
        "run_task_tree",
        "get_task_tree",
        "cancel_task_tree",
        "list_executors",
    }
    items = tools["run_task_tree"].input_schema["properties"]["tasks"]["items"]
    assert {"id", "schemas", "dependencies", "inputs"} <= set(items["properties"])
    assert "$ref" not in json.dumps(items)
    generate = tools["generate_task_tree"].input_schema["properties"]
    assert generate["mode"]["enum"] == ["single_shot", "multi_phase", "single-shot", "multi-phase"]
    assert tools["run_task_tree"].output_schema["properties"]["root_id"]["type"] == "string"


async def test_validate_reports_issues_with_hints(server):
    bad = json.loads(json.dumps(TREE))
    bad[1]["schemas"]["method"] = "transform_executer"
    async with Client(server) as client:
        result = await client.call_tool("validate_task_tree", {"tasks": bad})
        good = await client.call_tool("validate_task_tree", {"tasks": TREE})
    assert not result.is_error
    assert result.structured_content["valid"] is False
    issue = result.structured_content["issues"][0]
    assert issue["code"] == "unknown_executor" and "transform_executor" in issue["hint"]
    assert good.structured_content == {"valid": True, "issues": [], "warnings": []}


async def test_run_waits_and_returns_statuses_and_result(server):
    async with Client(server) as client:
        result = await client.call_tool("run_task_tree", {"tasks": TREE})
        assert not result.is_error, result.content
        run = result.structured_content
        tree = await client.call_tool("get_task_tree", {"root_id": run["root_id"]})
        resource = await client.read_resource(f"apflow://trees/{run['root_id']}")
    assert run["status"] == "completed" and run["finished"] is True
    assert run["result"] == {"n": 3}
    assert {t["spec_id"]: t["status"] for t in run["tasks"]} == {
        "report": "completed",
        "n": "completed",
    }
    results = {t["spec_id"]: t["result"] for t in tree.structured_content["tasks"]}
    assert results["n"] == 3
    stored = json.loads(resource.contents[0].text)
    assert [t["id"] for t in stored][0] == run["root_id"]


async def test_invalid_tree_is_a_tool_error_with_the_validator_hints(server, service):
    bad = json.loads(json.dumps(TREE))
    bad[0]["dependencies"] = ["n", "ghost"]
    async with Client(server) as client:
        result = await client.call_tool("run_task_tree", {"tasks": bad})
        listed = await client.call_tool("get_task_tree", {"root_id": "nope"})
    assert result.is_error
    text = result.content[0].text
    assert "nothing was stored" in text
    assert "[missing_dependency]" in text and "Fix:" in text
    assert "Traceback" not in text
    assert listed.is_error and "no task with id 'nope'" in listed.content[0].text


async def test_run_without_waiting_returns_at_once_then_cancel_stops_it(server, service):
    async with Client(server) as client:
        started = await client.call_tool("run_task_tree", {"tasks": _nap_tree(), "wait": False})
        run = started.structured_content
        assert run["finished"] is False
        root_id = run["root_id"]
        for _ in range(400):
            state = await client.call_tool("get_task_tree", {"root_id": root_id})
            statuses = {t["spec_id"]: t["status"] for t in state.structured_content["tasks"]}
            if statuses["a"] == "in_progress":
                break
            await asyncio.sleep(0.05)
        assert statuses["a"] == "in_progress"
        cancelled = await client.call_tool("cancel_task_tree", {"root_id": root_id})
        assert cancelled.structured_content == {"root_id": root_id, "cancelled": 2}
        await asyncio.wait_for(service.wait(root_id), 10)
        final = (await client.call_tool("get_task_tree", {"root_id": root_id})).structured_content
    assert final["finished"] is True
    assert {t["status"] for t in final["tasks"]} == {"cancelled"}


async def test_background_run_finishes_and_is_visible_through_get(server, service):
    async with Client(server) as client:
        run = await client.call_tool("run_task_tree", {"tasks": _nap_tree(0.05), "wait": False})
        root_id = run.structured_content["root_id"]
        await asyncio.wait_for(service.wait(root_id), 10)
        final = (await client.call_tool("get_task_tree", {"root_id": root_id})).structured_content
    assert final["status"] == "completed" and final["result"] == {"a": "rested"}


async def test_list_executors_and_executor_resource(server):
    async with Client(server) as client:
        listed = (await client.call_tool("list_executors", {})).structured_content["executors"]
        resource = await client.read_resource("apflow://executors/transform_executor")
        with pytest.raises(MCPError) as info:
            await client.read_resource("apflow://executors/transform_executer")
    by_id = {e["id"]: e for e in listed}
    assert "nap_executor" in by_id and "aggregate_results_executor" in by_id
    assert by_id["transform_executor"]["input_schema"]["type"] == "object"
    assert json.loads(resource.contents[0].text)["id"] == "transform_executor"
    assert "transform_executor" in str(info.value)  # the closest id is suggested


async def test_generate_reports_progress_per_phase_and_can_run(db_url, registry, tmp_path):
    from apflow.service import Service

    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([TREE, TREE]))
    server = build_server(service=Service(db_url, model=f"scripted:{answers}", registry=registry))
    progress = []

    async def on_progress(done, total, message):
        progress.append((done, message))

    async with Client(server) as client:
        result = await client.call_tool(
            "generate_task_tree",
            {"requirement": "count three things"},
            progress_callback=on_progress,
        )
        ran = await client.call_tool(
            "generate_task_tree", {"requirement": "count three things", "run": True}
        )
    assert not result.is_error, result.content
    data = result.structured_content
    assert [t["id"] for t in data["tasks"]] == ["report", "n"]
    assert data["stats"]["llm_calls"] == 1 and data["mode"] == "single_shot"
    assert data["run"] is None
    messages = [m for _, m in progress]
    assert any(m.startswith("generate: start") for m in messages)
    assert any(m.startswith("validate: done") for m in messages)
    assert [n for n, _ in progress] == list(range(1, len(progress) + 1))
    assert ran.structured_content["run"]["result"] == {"n": 3}


async def test_generate_without_a_model_tells_how_to_get_one(server, monkeypatch, tmp_path):
    monkeypatch.delenv("APFLOW_MODEL", raising=False)
    monkeypatch.setenv("APFLOW_MODELS_DIR", str(tmp_path / "none"))
    async with Client(server) as client:
        result = await client.call_tool("generate_task_tree", {"requirement": "anything"})
    assert result.is_error
    assert "apflow models install" in result.content[0].text


async def test_failed_generation_tells_the_model_what_was_left_wrong(db_url, registry, tmp_path):
    from apflow.service import Service

    bad = [{"id": "only", "schemas": {"method": "no_such_executor_anywhere"}}]
    answers = tmp_path / "bad.json"
    answers.write_text(json.dumps([bad] * 4))
    server = build_server(service=Service(db_url, model=f"scripted:{answers}", registry=registry))
    async with Client(server) as client:
        result = await client.call_tool("generate_task_tree", {"requirement": "do it"})
    assert result.is_error
    text = result.content[0].text
    assert "issues left in the last tree" in text and "[unknown_executor]" in text


async def test_generate_refuses_a_requirement_over_the_limit(db_url, registry, tmp_path):
    from apflow.service import Service

    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([TREE]))
    server = build_server(service=Service(db_url, model=f"scripted:{answers}", registry=registry))
    async with Client(server) as client:
        result = await client.call_tool("generate_task_tree", {"requirement": "x" * 1_000_000})
        assert result.is_error
        assert "the limit is 20,000 (APFLOW_MAX_REQUIREMENT_CHARS)" in result.content[0].text
        # the scripted answer was not used up: the next call still gets it
        fine = await client.call_tool("generate_task_tree", {"requirement": "count things"})
    assert not fine.is_error, fine.content
