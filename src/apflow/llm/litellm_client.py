"""Hosted and server models through litellm: one backend for every provider.

``provider/model`` strings go to ``litellm.acompletion`` (OpenAI, Anthropic, Ollama, or any
OpenAI-compatible server via ``api_base``). litellm is imported lazily because it is slow to
import and we do not want ``import apflow`` to pay for it.

Tests must never send a real request: while ``APFLOW_TESTING=1`` every request is refused
unless :data:`ALLOW_MODEL_REQUESTS` is set to True (see :func:`allow_model_requests`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from apflow.core.errors import ConfigError, LLMError
from apflow.core.settings import settings
from apflow.llm.base import Completion, Message, Usage

#: None: requests allowed unless APFLOW_TESTING=1. True/False: forced on or off.
ALLOW_MODEL_REQUESTS: bool | None = None

#: Key variables we expect per provider, used when litellm cannot tell us.
PROVIDER_KEYS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "groq": "GROQ_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
}
#: Providers that run on the user's machine and need no key.
KEYLESS_PROVIDERS = {"ollama", "ollama_chat", "lm_studio", "llamafile", "hosted_vllm", "vllm"}


def requests_allowed() -> bool:
    if ALLOW_MODEL_REQUESTS is not None:
        return ALLOW_MODEL_REQUESTS
    return not settings().testing


@contextmanager
def allow_model_requests(allowed: bool = True) -> Iterator[None]:
    """Let real model requests through inside a ``with`` block (tests against local servers)."""
    global ALLOW_MODEL_REQUESTS
    before = ALLOW_MODEL_REQUESTS
    ALLOW_MODEL_REQUESTS = allowed
    try:
        yield
    finally:
        ALLOW_MODEL_REQUESTS = before


def _litellm() -> Any:
    # Without this litellm downloads a price map at import time, which hangs offline.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError as exc:  # pragma: no cover - litellm is a core dependency
        raise LLMError("litellm is not installed", hint="pip install apflow") from exc
    litellm.suppress_debug_info = True
    return litellm


def missing_key(model: str, api_base: str | None) -> str | None:
    """The environment variable a hosted model still needs, or None when it can be called."""
    provider = model.split("/", 1)[0]
    if provider in KEYLESS_PROVIDERS or api_base:
        return None  # local servers (llama_cpp.server, Ollama, vLLM) take no key
    if provider in PROVIDER_KEYS:  # common case: answer without importing litellm (slow)
        key = PROVIDER_KEYS[provider]
        return None if os.environ.get(key) else key
    try:
        report = _litellm().validate_environment(model)
        missing = [k for k in report.get("missing_keys", []) if not k.endswith("_API_BASE")]
    except Exception:
        key = PROVIDER_KEYS.get(provider)
        missing = [key] if key and not os.environ.get(key) else []
    return missing[0] if missing else None


def _is_transient(exc: BaseException) -> bool:
    """Rate limits, server errors, timeouts and dropped connections are worth retrying."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and (status in (408, 409, 429) or status >= 500):
        return True
    try:
        import openai
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, openai.APIConnectionError)  # includes timeouts


class LiteLLMClient:
    """An :class:`~apflow.llm.base.LLMClient` backed by ``litellm.acompletion``.

    Raises :class:`ConfigError` at construction when a hosted model has no key, and
    :class:`LLMError` when a request fails after ``attempts`` tries.
    """

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        attempts: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 20.0,
    ) -> None:
        if "/" not in model:
            raise ConfigError(
                f"model {model!r} is not 'provider/model'",
                hint="e.g. openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, ollama/qwen2.5",
            )
        self.model = model
        self.api_base = api_base if api_base is not None else settings().api_base
        self.api_key = api_key
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        if not api_key:
            needed = missing_key(model, self.api_base)
            if needed:
                raise ConfigError(
                    f"model {model!r} needs an API key and {needed} is not set",
                    hint=f"export {needed}=..., or set APFLOW_MODEL=local for the offline model",
                )

    def _response_format(self, litellm: Any, json_schema: dict[str, Any] | None) -> Any:
        if json_schema is None:
            return None
        try:
            if litellm.supports_response_schema(model=self.model):
                return {
                    "type": "json_schema",
                    "json_schema": {"name": "answer", "schema": json_schema, "strict": False},
                }
        except Exception:
            pass
        return {"type": "json_object"}

    async def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int = 2048,
    ) -> Completion:
        if not requests_allowed():
            raise LLMError(
                f"real model requests are disabled in tests (model {self.model!r})",
                hint="use ScriptedClient, or wrap the call in allow_model_requests()",
            )
        litellm = _litellm()
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "timeout": self.timeout,
            "max_retries": 0,  # our tenacity loop owns retries
            "num_retries": 0,
            "drop_params": True,
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
            kwargs["api_key"] = self.api_key or "no-key-needed"
        elif self.api_key:
            kwargs["api_key"] = self.api_key
        response_format = self._response_format(litellm, json_schema)
        if response_format is not None:
            kwargs["response_format"] = response_format

        tries = 0
        started = time.monotonic()
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.attempts),
                wait=wait_exponential_jitter(initial=self.backoff, max=self.max_backoff),
                retry=retry_if_exception(_is_transient),
                reraise=False,
            ):
                with attempt:
                    tries += 1
                    response = await litellm.acompletion(**kwargs)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise LLMError(
                f"model {self.model!r} failed after {tries} attempts "
                f"({time.monotonic() - started:.1f}s): {_short(last)}",
                hint="check the provider status, the API key and APFLOW_API_BASE",
            ) from last
        except Exception as exc:
            raise LLMError(
                f"model {self.model!r} request failed (attempt {tries}): {_short(exc)}",
                hint="this error is not transient; check the model name, key and request",
            ) from exc
        return _to_completion(response, self.model)


def _short(exc: BaseException | None) -> str:
    text = f"{type(exc).__name__}: {exc}" if exc else "unknown error"
    return text if len(text) < 400 else text[:400] + "..."


def _to_completion(response: Any, model: str) -> Completion:
    try:
        text = response.choices[0].message.content or ""
    except (AttributeError, IndexError, KeyError) as exc:
        raise LLMError(f"model {model!r} returned no message: {response!r:.200}") from exc
    usage = getattr(response, "usage", None)
    return Completion(
        text=text,
        usage=Usage(
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        ),
        model=getattr(response, "model", None) or model,
        raw=response,
    )
