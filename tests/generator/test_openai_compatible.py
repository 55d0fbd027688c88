"""The documented way to use llama_cpp.server, Ollama or vLLM: litellm ``openai/<name>``
pointed at an OpenAI-compatible ``api_base`` (a real server on 127.0.0.1 here)."""

from __future__ import annotations

import json

import pytest

from apflow.core.errors import LLMError
from apflow.generator import generate_tree
from apflow.llm.litellm_client import LiteLLMClient, allow_model_requests

from .test_generate import GOOD, REQUIREMENT, broken


async def test_generate_tree_through_a_local_openai_compatible_server(
    fake_openai, registry, monkeypatch
):
    monkeypatch.setenv("APFLOW_API_BASE", fake_openai.api_base)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake_openai.reply(200, json.dumps(broken())).reply(200, json.dumps(GOOD))
    with allow_model_requests():
        result = await generate_tree(REQUIREMENT, model="openai/qwen2.5-coder", registry=registry)
    assert result.tree.ids() == ["root", "fetch", "summary"]
    assert result.model == "openai/qwen2.5-coder"
    assert result.stats.llm_calls == 2
    assert result.stats.prompt_tokens == 22 and result.stats.completion_tokens == 14
    first, second = (r["body"] for r in fake_openai.requests)
    assert first["model"] == "qwen2.5-coder"
    assert (
        first["messages"][0]["role"] == "system" and "fetch_page" in first["messages"][0]["content"]
    )
    assert first["response_format"]["type"] in {"json_object", "json_schema"}
    assert "[unknown_executor]" in second["messages"][-1]["content"]


async def test_transport_errors_are_retried_then_surfaced(fake_openai, registry):
    fake_openai.default = (503, "model is loading", 0.0)
    client = LiteLLMClient(
        "openai/qwen2.5-coder", api_base=fake_openai.api_base, attempts=3, backoff=0.01
    )
    with allow_model_requests(), pytest.raises(LLMError) as info:
        await generate_tree(REQUIREMENT, client=client, registry=registry)
    assert "after 3 attempts" in str(info.value) and "model is loading" in str(info.value)
    assert len(fake_openai.requests) == 3


async def test_generation_is_refused_in_tests_without_the_switch(fake_openai, registry):
    client = LiteLLMClient("openai/qwen2.5-coder", api_base=fake_openai.api_base)
    with pytest.raises(LLMError, match="disabled in tests"):
        await generate_tree(REQUIREMENT, client=client, registry=registry)
    assert fake_openai.requests == []


async def test_a_provider_with_structured_outputs_gets_the_strict_tree_schema(
    fake_openai, registry, monkeypatch
):
    """gpt-4o-mini supports response schemas (litellm says so): it is sent the per-position
    schema, so a provider that enforces it can only answer with earlier-task dependencies."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    fake_openai.reply(200, json.dumps(GOOD))
    client = LiteLLMClient("openai/gpt-4o-mini", api_base=fake_openai.api_base)
    with allow_model_requests():
        await generate_tree(REQUIREMENT, client=client, registry=registry)
    sent = fake_openai.requests[0]["body"]["response_format"]
    assert sent["type"] == "json_schema"
    positions = sent["json_schema"]["schema"]["properties"]["tasks"]["prefixItems"]
    second = positions[1]["anyOf"][0]["properties"]
    assert second["id"] == {"const": "t2"}
    assert second["dependencies"]["items"]["anyOf"][0] == {"enum": ["t1"]}
