"""The scripted backend: canned responses in order, for tests, demos and docs.

``scripted:PATH.json`` holds a list of strings, or of ``{"match": substring,
"response": ...}`` entries: a matching entry answers the first request whose
last user message contains ``match``; plain entries answer in order.
Every request is kept in :attr:`ScriptedClient.history`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from apflow.core.errors import LLMError
from apflow.llm.base import Completion, Message, Usage, decode_guard

#: Characters the scripted model "decodes" between two looks of a DecodeGuard.
GUARD_CHARS = 16


def guarded_text(text: str, guard: Any, late_after: int | None = None) -> str:
    """``text`` shown to ``guard`` as it grows, ended where the guard ends it."""
    for end in range(GUARD_CHARS, len(text) + GUARD_CHARS, GUARD_CHARS):
        so_far = text[:end]
        late = (late_after is not None and end >= late_after) or (
            guard.deadline is not None and time.monotonic() > guard.deadline
        )
        ending = guard.stop(so_far, late) if guard.stop else None
        if ending is not None:
            return ending
        if late:
            return so_far
    return text


def _guarded(text: str, entry: Any) -> str:
    """The answer as a guarded decoder would end it, shown to the guard as it grows.

    An entry ``{"response": ..., "late_after": N}`` lets a test say the deadline passes
    once N characters are written; otherwise the real deadline counts.
    """
    guard = decode_guard.get()
    if guard is None or (guard.stop is None and guard.deadline is None):
        return text
    late_after = entry.get("late_after") if isinstance(entry, dict) else None
    return guarded_text(text, guard, late_after)


class ScriptedClient:
    def __init__(self, responses: list[Any] | None = None, *, model: str = "scripted") -> None:
        self.model = model
        self.responses: list[Any] = list(responses or [])
        self.history: list[dict[str, Any]] = []

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedClient:
        p = Path(path)
        try:
            data = json.loads(p.read_text())
        except FileNotFoundError:
            raise LLMError(f"scripted responses file not found: {p}") from None
        except json.JSONDecodeError as exc:
            raise LLMError(f"scripted responses file {p} is not JSON: {exc}") from None
        if isinstance(data, dict) and "responses" in data:
            data = data["responses"]
        if not isinstance(data, list):
            raise LLMError(f"scripted responses file {p} must hold a JSON list")
        return cls(data, model=f"scripted:{p}")

    def enqueue(self, *responses: Any) -> ScriptedClient:
        self.responses.extend(responses)
        return self

    @staticmethod
    def _text(response: Any) -> str:
        return response if isinstance(response, str) else json.dumps(response)

    async def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int = 2048,
    ) -> Completion:
        self.history.append(
            {
                "messages": [dict(m) for m in messages],
                "json_schema": json_schema,
                "temperature": temperature,
                "max_tokens": max_tokens,
            }
        )
        last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        prompt_text = "\n".join(m["content"] for m in messages)
        for index, entry in enumerate(self.responses):
            if isinstance(entry, dict) and "match" in entry and entry["match"] in last_user:
                self.responses.pop(index)
                text = self._text(entry["response"])
                break
        else:
            plain = next(
                (
                    i
                    for i, e in enumerate(self.responses)
                    if not (isinstance(e, dict) and "match" in e)
                ),
                None,
            )
            if plain is None:
                raise LLMError(
                    f"scripted model has no response left for request #{len(self.history)}",
                    hint="add more responses to the scripted file",
                )
            entry = self.responses.pop(plain)
            text = self._text(
                entry["response"] if isinstance(entry, dict) and "response" in entry else entry
            )
        text = _guarded(text, entry)
        usage = Usage(prompt_tokens=len(prompt_text) // 4, completion_tokens=len(text) // 4)
        return Completion(text=text, usage=usage, model=self.model)
