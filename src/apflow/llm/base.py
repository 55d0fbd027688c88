"""The one small protocol every model backend implements."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
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


@dataclass(frozen=True)
class DecodeGuard:
    """Bounds on one answer beyond its token budget, for backends that decode here.

    ``deadline`` is a ``time.monotonic()`` instant; ``stop(text, late)`` is shown the answer
    so far every few tokens (``late`` once the deadline has passed) and returns the text to
    end with instead, or None to go on. Why a context variable and not an argument: the
    guard belongs to one generation, and every wrapper between it and the backend (call
    counting, cassettes) passes it on without knowing of it. A backend that cannot watch its
    decoding (a remote API) ignores it; the generator still checks the deadline between calls.
    """

    deadline: float | None = None
    stop: Callable[[str, bool], str | None] | None = None


#: The guard of the answer being asked for in this context (set by the generator).
decode_guard: ContextVar[DecodeGuard | None] = ContextVar("apflow_decode_guard", default=None)


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


class CountingClient:
    """Wraps any client to count calls and tokens as they happen (the CLI's progress line,
    the evals' per-case figures), whatever the caller itself reports."""

    def __init__(self, inner: LLMClient) -> None:
        self.inner = inner
        self.model = getattr(inner, "model", "")
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.forced_tokens = 0

    async def complete(self, messages: list[Message], **kwargs: Any) -> Completion:
        self.calls += 1
        completion = await self.inner.complete(messages, **kwargs)
        self.prompt_tokens += completion.usage.prompt_tokens
        self.completion_tokens += completion.usage.completion_tokens
        self.forced_tokens += completion.usage.forced_tokens
        return completion

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens so far."""
        return self.prompt_tokens + self.completion_tokens
