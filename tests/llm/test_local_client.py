"""The embedded llama.cpp backend.

Tests marked ``local_model`` run a real GGUF model and are skipped (with the reason) when the
model or llama-cpp-python is absent; CI runs them on machines where `apflow models install` ran.
"""

from __future__ import annotations

import json
import os

import jsonschema
import pytest

from apflow.core.errors import ConfigError, LLMError
from apflow.llm import local, local_models
from apflow.llm.base import LLMClient
from apflow.llm.local import LocalClient


def _model_or_skip(name: str) -> str:
    if not local.backend_available():
        pytest.skip("llama-cpp-python is not installed (pip install 'apflow[local]')")
    if not local_models.is_installed(name):
        pytest.skip(f"model {name} is not installed (apflow models install {name})")
    return str(local_models.model_path(name))


@pytest.fixture
def tiny_model() -> str:
    """The smallest model: enough to prove decoding and grammars work, fast on 2 cores."""
    return _model_or_skip("smollm2-135m")


def test_default_model_missing_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("APFLOW_MODELS_DIR", str(tmp_path))
    assert not local.is_installed()
    with pytest.raises(LLMError) as info:
        LocalClient()
    assert "apflow models install" in info.value.hint


def test_get_client_builds_the_local_backend_for_local_model_strings(tmp_path, monkeypatch):
    from apflow.llm import get_client

    gguf = tmp_path / "any.gguf"
    gguf.write_bytes(b"GGUF")  # not loaded until the first request
    client = get_client(f"local:{gguf}")
    assert isinstance(client, LocalClient) and client.path == gguf
    assert client.model == f"local:{gguf}"
    monkeypatch.setenv("APFLOW_MODELS_DIR", str(tmp_path / "empty"))
    with pytest.raises(LLMError) as info:
        get_client("local")
    assert "apflow models install" in info.value.hint


def test_missing_gguf_path_is_a_clear_error(tmp_path):
    with pytest.raises(LLMError, match="model file not found"):
        LocalClient(model_path=tmp_path / "nope.gguf")


def test_threads_default_to_free_cores_and_env_overrides(monkeypatch):
    monkeypatch.delenv("APFLOW_LOCAL_THREADS", raising=False)
    assert local.default_threads() == local.free_cores()
    assert 1 <= local.free_cores() <= len(os.sched_getaffinity(0))
    monkeypatch.setenv("APFLOW_LOCAL_THREADS", "1")
    assert local.default_threads() == 1
    for bad in ("0", "two"):
        monkeypatch.setenv("APFLOW_LOCAL_THREADS", bad)
        with pytest.raises(ConfigError, match="APFLOW_LOCAL_THREADS"):
            local.default_threads()


def test_idle_cores_never_exceed_the_free_cores():
    assert 1 <= local.idle_cores(0.05) <= local.free_cores()


def test_omp_threads_wait_passively_so_busy_cores_do_not_stall_decoding():
    assert os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"


def test_a_file_that_is_not_gguf_fails_to_load_with_a_hint(tmp_path):
    if not local.backend_available():
        pytest.skip("llama-cpp-python is not installed (pip install 'apflow[local]')")
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a model at all")
    client = LocalClient(model_path=bogus, n_ctx=256)
    with pytest.raises(LLMError) as info:
        client._llama()
    assert "could not load" in str(info.value) and "GGUF" in info.value.hint


@pytest.mark.local_model
async def test_decodes_more_than_50_tokens_without_crashing(tiny_model):
    client = LocalClient(model_path=tiny_model, n_ctx=512)
    assert isinstance(client, LLMClient)
    # EOS is banned so the model must keep going: the portable build must survive long decodes
    completion = await client.complete(
        [{"role": "user", "content": "List the numbers from one to one hundred in words."}],
        max_tokens=64,
        logit_bias={client.token_eos(): -1e9},
    )
    assert completion.usage.completion_tokens == 64
    assert completion.usage.prompt_tokens > 5
    assert len(completion.text.strip()) > 30
    assert completion.model == f"local:{tiny_model}"


@pytest.mark.local_model
async def test_grammar_constrained_answer_parses_and_matches_the_schema(tiny_model):
    schema = {
        "type": "object",
        "properties": {
            "executor": {"type": "string", "enum": ["rest_executor", "llm_executor"]},
            "tasks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "maxLength": 20},
                        "priority": {"type": "integer", "minimum": 0, "maximum": 3},
                    },
                    "required": ["id", "priority"],
                },
                "minItems": 1,
                "maxItems": 3,
            },
        },
        "required": ["executor", "tasks"],
    }
    client = LocalClient(model_path=tiny_model, n_ctx=512)
    completion = await client.complete(
        [
            {"role": "system", "content": "Answer in JSON."},
            {"role": "user", "content": "Plan a task that fetches a web page."},
        ],
        json_schema=schema,
        max_tokens=120,
    )
    data = json.loads(completion.text)
    jsonschema.validate(data, schema)
    assert data["executor"] in {"rest_executor", "llm_executor"}


@pytest.mark.local_model
async def test_a_repeated_prompt_prefix_is_not_evaluated_again(tiny_model):
    client = LocalClient(model_path=tiny_model, n_ctx=2048)
    system_a = "You plan workflows. " + " ".join(f"tool_{i} does job {i}." for i in range(40))
    system_b = "You check plans. " + " ".join(f"rule_{i} holds for step {i}." for i in range(40))

    async def ask(system: str, user: str, max_tokens: int = 1) -> tuple[float, str]:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        completion = await client.complete(messages, max_tokens=max_tokens)
        assert completion.usage.prompt_tokens > 200
        return client.last_stats["seconds"], completion.text

    cold, _ = await ask(system_a, "name one tool", max_tokens=8)
    # the same prompt again reuses the live KV cache (re-evaluating only its last token, which
    # may change the last float bits and so a tiny model's greedy answer vs. the cold one)
    _, live = await ask(system_a, "name one tool", max_tokens=8)
    await ask(system_b, "fetch a page")  # another prefix in between (as in multi-phase mode)
    warm, _ = await ask(system_a, "summarise a file")
    assert warm < cold / 2, (cold, warm)
    # a state restored from the RAM cache answers exactly as the live cache did
    _, restored = await ask(system_a, "name one tool", max_tokens=8)
    assert restored == live
    states = list(client._llama().cache.cache_state.values())
    assert states and all(state.scores.shape[0] <= 1 for state in states)


@pytest.mark.local_model
async def test_a_prompt_longer_than_the_context_is_refused_before_decoding(tiny_model):
    client = LocalClient(model_path=tiny_model, n_ctx=256)
    with pytest.raises(LLMError) as info:
        await client.complete([{"role": "user", "content": "word " * 400}], max_tokens=8)
    assert "context window of 256 tokens" in str(info.value) and "n_ctx" in info.value.hint


@pytest.mark.local_model
async def test_schema_fixed_text_is_forced_not_decoded(tiny_model):
    client = LocalClient(model_path=tiny_model, n_ctx=512)
    schema = {
        "type": "object",
        "properties": {
            "recipe": {"const": "bread-and-butter-pudding"},
            "steps": {"type": "array", "items": {"type": "string", "maxLength": 24}},
        },
        "required": ["recipe", "steps"],
        "additionalProperties": False,
    }
    messages = [{"role": "user", "content": "List three steps to bake bread as JSON."}]
    first = await client.complete(messages, json_schema=schema, max_tokens=90)
    jsonschema.validate(json.loads(first.text), schema)
    # the opening brace, the keys and the const value cost no decoding step
    assert first.usage.forced_tokens >= 8
    assert first.usage.completion_tokens > first.usage.forced_tokens
    stats = client.last_stats
    assert stats["forced_tokens"] + stats["decoded_tokens"] == first.usage.completion_tokens
    # greedy and prefix-cached: the same request gives the same answer, evaluating one token
    again = await client.complete(messages, json_schema=schema, max_tokens=90)
    assert again.text == first.text
    assert client.last_stats["prompt_evaluated"] == 1


STATE_SCRIPT = """
import asyncio, json, sys
from apflow.llm.local import LocalClient
client = LocalClient(model_path=sys.argv[1], n_ctx=1024)
messages = [
    {"role": "system", "content": "You answer questions about numbers in JSON. " * 30},
    {"role": "user", "content": sys.argv[2]},
]
schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
answer = asyncio.run(client.complete(messages, json_schema=schema, max_tokens=12))
print(json.dumps({"text": answer.text, **client.last_stats}))
"""


@pytest.mark.local_model
def test_a_new_process_loads_the_evaluated_system_prompt_from_disk(tiny_model, tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "APFLOW_LOCAL_STATE_DIR": str(tmp_path), "APFLOW_LOCAL_CACHE_MB": "0"}

    def run(question):
        out = subprocess.run(
            [sys.executable, "-c", STATE_SCRIPT, tiny_model, question],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    first = run("How many legs has a cat?")
    assert first["prompt_from_disk"] is False
    assert len(list(tmp_path.glob("*.state"))) == 1
    second = run("How many wheels has a bicycle?")
    assert second["prompt_from_disk"] is True
    # only the question is evaluated: the ~300-token system prompt came from disk
    assert second["prompt_evaluated"] < first["prompt_evaluated"] - 200
    assert second["text"].startswith("{")


@pytest.mark.parametrize("name", ["APFLOW_LOCAL_CACHE_MB", "APFLOW_LOCAL_STATE_MB"])
def test_cache_sizes_must_be_megabytes(name, monkeypatch):
    from apflow.llm import prompt_states

    read = local._cache_bytes if name == "APFLOW_LOCAL_CACHE_MB" else prompt_states.capacity_bytes
    monkeypatch.setenv(name, "lots")
    with pytest.raises(ConfigError, match=f"{name}='lots' is not a size in MB") as info:
        read()
    assert "or 0 to" in info.value.hint
    monkeypatch.setenv(name, "3")
    assert read() == 3 << 20


def test_the_local_backend_imports_without_its_extra():
    """numpy, llama_cpp and llguidance come with the local extra; a base install (CI, the
    models CLI) must import the backend and list models without them."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "for name in ('numpy', 'llama_cpp', 'llguidance'):\n"
        "    sys.modules[name] = None  # import fails as if not installed\n"
        "import apflow.llm.local, apflow.llm.prompt_states, apflow.cli.app\n"
        "from apflow.llm import local_models\n"
        "print(len(local_models.list_models()) > 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
