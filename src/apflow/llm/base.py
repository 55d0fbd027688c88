"""The one small protocol every model backend implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": str}


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: Of the completion tokens, those a grammar forced (evaluated in a batch, not decoded).
    forced_tokens: int = 0


@dataclass
class Completion:
    """What a backend returns: the text and the token usage (0 when unknown)."""

    text: str
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    raw: Any = None


@runtime_checkable
class LLMClient(Protocol):
    """An async chat model. ``json_schema`` asks for JSON matching it where the backend can."""

    model: str

    async def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int = 2048,
    ) -> Completion: ...
