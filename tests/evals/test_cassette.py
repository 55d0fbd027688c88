"""Cassettes: what is recorded is served back; anything else is an error, never a call."""

from __future__ import annotations

import pytest

from apflow.core.errors import LLMError
from apflow.evals.cassette import CassetteMiss, RecordingClient, ReplayClient
from apflow.llm import ScriptedClient
from apflow.llm.base import CountingClient

ASK = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]


async def test_recorded_answers_replay_in_order_for_equal_requests(tmp_path):
    path = tmp_path / "c.jsonl"
    recorder = RecordingClient(ScriptedClient(["one", "two", "three"], model="m1"), path)
    await recorder.complete(ASK)
    await recorder.complete(ASK)
    await recorder.complete(ASK, json_schema={"type": "object"}, max_tokens=99)
    replay = ReplayClient(path)
    assert replay.recorded_model == "m1"
    assert (await replay.complete(ASK)).text == "one"
    assert (await replay.complete(ASK)).text == "two"
    # budgets and grammar may be tuned after recording; the conversation is the key
    served = await replay.complete(ASK, max_tokens=10)
    assert served.text == "three" and served.usage.completion_tokens == len("three") // 4
    with pytest.raises(CassetteMiss, match="request not in cassette"):
        await replay.complete(ASK)  # recorded twice, asked a third time


async def test_a_different_request_is_a_miss(tmp_path):
    path = tmp_path / "c.jsonl"
    await RecordingClient(ScriptedClient(["x"]), path).complete(ASK)
    other = [ASK[0], {"role": "user", "content": "hello!"}]
    with pytest.raises(CassetteMiss) as info:
        await ReplayClient(path).complete(other)
    assert "re-record" in info.value.hint


def test_missing_or_broken_cassette_is_a_clear_error(tmp_path):
    with pytest.raises(LLMError, match="cassette not found"):
        ReplayClient(tmp_path / "nope.jsonl")
    broken = tmp_path / "b.jsonl"
    broken.write_text('{"key": "k", "text": "t"}\n{"no": "key"}\n')
    with pytest.raises(LLMError, match="b.jsonl:2"):
        ReplayClient(broken)


async def test_counting_client_sums_calls_and_tokens():
    counting = CountingClient(ScriptedClient(["abcdefgh", "abcd"]))
    await counting.complete(ASK)
    await counting.complete(ASK, max_tokens=10)
    assert counting.calls == 2
    assert counting.completion_tokens == 3
    assert counting.prompt_tokens == 2 * (len("be brief\nhello") // 4)
