"""Model access: backend choice, keys, the test guard, retries against a real local server."""

from __future__ import annotations

import json
import types

import pytest

from apflow.core.errors import ConfigError, LLMError
from apflow.llm import ScriptedClient, factory, get_client
from apflow.llm.litellm_client import LiteLLMClient, allow_model_requests

MESSAGES = [{"role": "user", "content": "give me a tree"}]


def fast_client(api_base: str, **kw) -> LiteLLMClient:
    kw.setdefault("timeout", 5.0)
    return LiteLLMClient(
        "openai/tiny-local", api_base=api_base, backoff=0.01, max_backoff=0.05, **kw
    )


def test_scripted_model_string_loads_the_file(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(["one", "two"]))
    client = get_client(f"scripted:{path}")
    assert isinstance(client, ScriptedClient)
    assert client.responses == ["one", "two"]


def test_local_without_backend_names_the_install_commands(monkeypatch):
    monkeypatch.setattr(factory, "_local_module", lambda: None)
    with pytest.raises(LLMError) as info:
        get_client("local")
    assert "pip install 'apflow[local]'" in str(info.value)
    assert "apflow models install" in str(info.value)


def test_local_path_is_passed_to_the_backend(monkeypatch):
    made = {}

    class LocalClient:
        def __init__(self, model_path=None):
            made["path"] = model_path
            self.model = "local"

    fake = types.SimpleNamespace(LocalClient=LocalClient, is_installed=lambda: True)
    monkeypatch.setattr(factory, "_local_module", lambda: fake)
    get_client("local:/models/x.gguf")
    assert made["path"] == "/models/x.gguf"
    get_client("local")
    assert made["path"] is None


def test_default_model_is_local_when_installed(monkeypatch):
    monkeypatch.delenv("APFLOW_MODEL", raising=False)
    fake = types.SimpleNamespace(is_installed=lambda: True)
    monkeypatch.setattr(factory, "_local_module", lambda: fake)
    assert factory.default_model() == "local"


def test_no_model_and_no_local_model_says_how_to_fix(monkeypatch):
    monkeypatch.delenv("APFLOW_MODEL", raising=False)
    monkeypatch.setattr(factory, "_local_module", lambda: None)
    with pytest.raises(ConfigError) as info:
        get_client()
    text = str(info.value)
    assert "apflow models install" in text and "APFLOW_MODEL" in text


def test_unknown_model_form_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown model 'gpt4'"):
        get_client("gpt4")


@pytest.mark.parametrize(
    ("model", "variable"),
    [("openai/gpt-4o-mini", "OPENAI_API_KEY"), ("anthropic/claude-3-5-haiku", "ANTHROPIC_API_KEY")],
)
def test_hosted_model_without_key_names_the_variable(monkeypatch, model, variable):
    monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("APFLOW_API_BASE", raising=False)
    with pytest.raises(ConfigError) as info:
        get_client(model)
    assert variable in str(info.value)


def test_api_base_from_environment_needs_no_key(monkeypatch, fake_openai):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("APFLOW_API_BASE", fake_openai.api_base)
    client = get_client("openai/tiny-local")
    assert isinstance(client, LiteLLMClient)
    assert client.api_base == fake_openai.api_base


async def test_requests_are_refused_in_tests_before_anything_is_sent(fake_openai):
    client = fast_client(fake_openai.api_base)
    with pytest.raises(LLMError, match="disabled in tests"):
        await client.complete(MESSAGES)
    assert fake_openai.requests == []


async def test_openai_compatible_local_server_answers(fake_openai):
    fake_openai.reply(200, '{"tasks": []}')
    client = fast_client(fake_openai.api_base)
    with allow_model_requests():
        completion = await client.complete(MESSAGES, json_schema={"type": "object"})
    assert completion.text == '{"tasks": []}'
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (11, 7)
    sent = fake_openai.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["model"] == "tiny-local"
    assert sent["body"]["messages"] == MESSAGES
    assert sent["body"]["response_format"]["type"] in {"json_object", "json_schema"}


async def test_server_errors_and_rate_limits_are_retried(fake_openai):
    fake_openai.reply(500, "boom").reply(429, "slow down").reply(200, "ok")
    client = fast_client(fake_openai.api_base)
    with allow_model_requests():
        completion = await client.complete(MESSAGES)
    assert completion.text == "ok"
    assert len(fake_openai.requests) == 3


async def test_persistent_failure_reports_attempt_count_and_last_error(fake_openai):
    fake_openai.default = (503, "overloaded", 0.0)
    client = fast_client(fake_openai.api_base, attempts=3)
    with allow_model_requests(), pytest.raises(LLMError) as info:
        await client.complete(MESSAGES)
    assert "after 3 attempts" in str(info.value)
    assert "overloaded" in str(info.value)
    assert len(fake_openai.requests) == 3


async def test_client_errors_are_not_retried(fake_openai):
    fake_openai.default = (400, "bad request body", 0.0)
    client = fast_client(fake_openai.api_base)
    with allow_model_requests(), pytest.raises(LLMError, match="not transient"):
        await client.complete(MESSAGES)
    assert len(fake_openai.requests) == 1


async def test_slow_server_times_out_and_is_retried(fake_openai):
    fake_openai.default = (200, "late", 1.5)
    client = fast_client(fake_openai.api_base, attempts=2, timeout=0.3)
    with allow_model_requests(), pytest.raises(LLMError, match="after 2 attempts"):
        await client.complete(MESSAGES)
    assert len(fake_openai.requests) == 2


def test_importing_the_generator_does_not_import_litellm_or_higher_layers():
    import subprocess
    import sys

    code = (
        "import sys, apflow.generator, apflow.service.generate_executor\n"
        "bad = [m for m in sys.modules if m == 'litellm' or m.startswith(('apflow.cli', "
        "'apflow.mcp'))]\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
