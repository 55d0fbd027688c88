"""Pick a model backend from a model string (argument, then ``APFLOW_MODEL``)."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from apflow.core.errors import ConfigError, LLMError
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
    configured = os.environ.get("APFLOW_MODEL", "").strip()
    if configured:
        return configured
    if local_installed():
        return "local"
    raise ConfigError(
        "no model configured: APFLOW_MODEL is unset and the local model is not installed",
        hint=f"run `{LOCAL_INSTALL_HINT}`, or set APFLOW_MODEL=openai/gpt-4o-mini (or any "
        "litellm model string) with its API key",
    )


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a number", hint=f"e.g. {name}={default}"
        ) from None


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

        return LiteLLMClient(
            name,
            timeout=_env_number("APFLOW_LLM_TIMEOUT", 120.0),
            attempts=int(_env_number("APFLOW_LLM_ATTEMPTS", 3)),
        )
    raise ConfigError(
        f"unknown model {name!r}",
        hint="use 'local', 'local:/path/model.gguf', 'scripted:responses.json' or a litellm "
        "'provider/model' string such as openai/gpt-4o-mini or ollama/qwen2.5",
    )
