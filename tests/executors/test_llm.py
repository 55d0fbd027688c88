"""llm_executor through the real model layer (scripted backend) and inside the engine."""

from __future__ import annotations

import asyncio
import json

import pytest

from apflow import TaskManager, TaskTreeNode, create_session
from apflow.executors.llm import LlmExecutor
from apflow.llm import Completion, ScriptedClient


def scripted(tmp_path, *responses) -> str:
    path = tmp_path / "responses.json"
    path.write_text(json.dumps(list(responses)))
    return f"scripted:{path}"


async def run(**inputs):
    return await LlmExecutor().execute(inputs)


@pytest.fixture
def client(monkeypatch):
    """A scripted client the test can inspect (history of requests)."""
    c = ScriptedClient()
    monkeypatch.setattr(LlmExecutor, "client_factory", lambda model: c)
    return c


async def test_answer_text_model_and_usage_from_a_scripted_file(tmp_path):
    model = scripted(tmp_path, "Paris.")
    out = await run(prompt="Capital of France?", model=model)
    assert out["status"] == "completed", out
    assert out["result"]["text"] == "Paris."
    assert out["result"]["model"] == model
    assert out["result"]["usage"]["prompt_tokens"] > 0
    assert "json" not in out["result"]


async def test_system_temperature_and_max_tokens_reach_the_model(client):
    client.enqueue("ok")
    await run(prompt="hi", system="be brief", temperature=0.7, max_tokens=50)
    sent = client.history[0]
    assert sent["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert sent["temperature"] == 0.7 and sent["max_tokens"] == 50


async def test_json_output_is_parsed_even_inside_a_code_fence(client):
    client.enqueue('Here you go:\n```json\n{"items": [1, 2]}\n```')
    out = await run(prompt="list", json_output=True)
    assert out["result"]["json"] == {"items": [1, 2]}


async def test_non_json_answer_fails_with_invalid_json(client):
    client.enqueue("I cannot do that")
    out = await run(prompt="list", json_output=True)
    assert out["status"] == "failed" and out["error_type"] == "invalid_json"
    assert out["text"] == "I cannot do that"


async def test_json_schema_is_sent_and_enforced(client):
    schema = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    client.enqueue('{"n": 3}', '{"n": "three"}')
    out = await run(prompt="count", json_schema=schema)
    assert out["result"]["json"] == {"n": 3}
    assert client.history[0]["json_schema"] == schema
    out = await run(prompt="count", json_schema=schema)
    assert out["error_type"] == "invalid_json" and "at n" in out["error"]


async def test_context_appends_dependency_results(client):
    client.enqueue("summary")
    out = await run(prompt="Summarise:", context=["fetch"], fetch={"title": "News"})
    assert out["status"] == "completed"
    assert (
        client.history[0]["messages"][-1]["content"]
        == 'Summarise:\n\n[fetch]\n{\n "title": "News"\n}'
    )
    out = await run(prompt="Summarise:", context=["absent"])
    assert out["error_type"] == "missing_source"


async def test_unknown_model_is_a_config_error():
    out = await run(prompt="hi", model="no-such-model-form")
    assert out["status"] == "failed" and out["error_type"] == "config_error"
    assert "unknown model" in out["error"]


async def test_backend_errors_are_retryable_llm_errors(tmp_path):
    out = await run(prompt="hi", model=f"scripted:{tmp_path / 'missing.json'}")
    assert out["error_type"] == "llm_error" and out["retryable"] is True
    out = await run(prompt="hi", model=scripted(tmp_path))  # no responses left
    assert out["error_type"] == "llm_error"


class SlowClient:
    model = "slow"

    async def complete(self, messages, **kwargs):
        await asyncio.sleep(10)
        return Completion(text="late")


async def test_timeout(monkeypatch):
    monkeypatch.setattr(LlmExecutor, "client_factory", lambda model: SlowClient())
    out = await run(prompt="hi", timeout=0.2)
    assert out["error_type"] == "timeout" and out["retryable"] is True


@pytest.mark.parametrize(
    "inputs, where",
    [
        ({}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x", "temperature": 3}, "temperature"),
        ({"prompt": "x", "max_tokens": 0}, "max_tokens"),
        ({"prompt": "x", "json_output": "yes"}, "json_output"),
        ({"prompt": "x", "context": "fetch"}, "context"),
    ],
)
async def test_invalid_inputs(inputs, where):
    out = await run(**inputs)
    assert out["error_type"] == "validation_error" and where in out["error"]


async def test_invalid_json_schema_is_rejected_before_calling_the_model(client):
    out = await run(prompt="x", json_schema={"type": "nonsense"})
    assert out["error_type"] == "validation_error" and client.history == []


async def test_prompt_gets_a_dependency_result_through_a_reference(tmp_path):
    model = scripted(tmp_path, {"match": "Summarise: Rain at noon", "response": "Wet."})
    session = create_session()
    manager = TaskManager(session)
    repo = manager.task_repository
    root = await repo.create_task(
        name="summarise",
        schemas={"method": "llm_executor"},
        params={"spec_id": "summarise"},
        inputs={"prompt": "Summarise: ${page.result.text}", "model": model},
    )
    page = await repo.create_task(
        name="page",
        parent_id=root.id,
        schemas={"method": "transform_executor"},
        params={"spec_id": "page"},
        inputs={"data": {"text": "Rain at noon"}},
    )
    await repo.update_task(root.id, dependencies=[page.id])
    node = TaskTreeNode(await repo.get_task_by_id(root.id))
    node.add_child(TaskTreeNode(page))
    await manager.distribute_task_tree(node)
    stored = await repo.get_task_by_id(root.id)
    assert stored.status == "completed", stored.error
    assert stored.result["text"] == "Wet."
    await session.close()
