"""LLM cassettes: record every request/response of an eval run, replay them offline.

A cassette is JSONL, one exchange per line: a hash of the messages (the key), the messages
themselves (so a cassette can be inspected or re-keyed), and the answer. Replaying serves
equal requests their recorded answers in recorded order; a request that was never recorded
is an :class:`LLMError`, never a silent call to a real model.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from apflow.core.errors import LLMError
from apflow.llm.base import Completion, DecodeGuard, LLMClient, Message, Usage, decode_guard
from apflow.llm.scripted import guarded_text


class CassetteMiss(LLMError):
    """A replayed run asked something the cassette does not hold."""


def request_key(messages: list[Message]) -> str:
    """A stable hash of the conversation (roles and contents).

    Only the messages: budgets such as ``max_tokens`` or the grammar's schema may be tuned
    without invalidating a recording, while any change to what the model reads does.
    """
    body = [[m.get("role"), m.get("content")] for m in messages]
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _preview(messages: list[Message]) -> str:
    last = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    return " ".join(last.split())[:160]


class RecordingClient:
    """Wraps a real client and appends every exchange to a cassette file.

    The file is emptied first unless ``append`` (extending a recorded run)."""

    def __init__(self, inner: LLMClient, path: str | Path, *, append: bool = False) -> None:
        self.inner = inner
        self.model = inner.model
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not append or not self.path.exists():
            self.path.write_text("")
        self._lock = asyncio.Lock()

    async def complete(self, messages: list[Message], **options: Any) -> Completion:
        """The inner client's answer (same options), appended to the cassette."""
        completion = await self.inner.complete(messages, **options)
        max_tokens = options.get("max_tokens", 2048)
        row = {
            "key": request_key(messages),
            "request": _preview(messages),
            "messages": [dict(m) for m in messages],
            "max_tokens": max_tokens,
            "text": completion.text,
            "prompt_tokens": completion.usage.prompt_tokens,
            "completion_tokens": completion.usage.completion_tokens,
            "forced_tokens": completion.usage.forced_tokens,
            "model": completion.model or self.model,
        }
        async with self._lock:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return completion


def replayed_through_watch(text: str) -> str:
    guard = decode_guard.get()
    if guard is None or guard.stop is None:
        return text
    return guarded_text(text, DecodeGuard(stop=guard.stop))


class ReplayClient:
    """Serves a cassette back; equal requests get their recorded answers in order."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise LLMError(
                f"cassette not found: {self.path}",
                hint="record one first with `apflow eval run SUITE --record FILE`",
            )
        self._answers: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        models = set()
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                self._answers[row["key"]].append(row)
            except (json.JSONDecodeError, KeyError, TypeError):
                raise LLMError(f"{self.path}:{number} is not a cassette entry") from None
            models.add(row.get("model") or "")
        self.model = "replay:" + (",".join(sorted(m for m in models if m)) or str(self.path))
        self.recorded_model = ",".join(sorted(m for m in models if m))

    async def complete(self, messages: list[Message], **_options: Any) -> Completion:
        """The recorded answer to these messages (the options were fixed when recording)."""
        key = request_key(messages)
        queue = self._answers.get(key)
        if not queue:
            raise CassetteMiss(
                f"request not in cassette {self.path} (key {key}): {_preview(messages)[:100]!r}",
                hint="prompts or the dataset changed since recording; re-record the cassette "
                "with `apflow eval run ... --record FILE`",
            )
        row = queue.popleft()
        usage = Usage(
            row.get("prompt_tokens", 0),
            row.get("completion_tokens", 0),
            forced_tokens=row.get("forced_tokens", 0),
        )
        # A recording made before the decoder watched for runaway trees holds the whole
        # answer; the watch ends it where a live decode would (a deterministic cut of the
        # text). The deadline is not replayed: replay time is not the recording's time.
        text = replayed_through_watch(row["text"])
        return Completion(text=text, usage=usage, model=row.get("model", ""))
