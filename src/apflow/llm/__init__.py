"""Model access: one protocol, backends chosen by a model string.

- ``"provider/model"``: litellm (OpenAI, Anthropic, Ollama, any OpenAI-compatible api_base)
- ``"scripted:PATH.json"``: canned responses (tests, demos, docs)
- ``"local"`` / ``"local:/path/model.gguf"``: the embedded llama.cpp model

Public names load on first use (see :mod:`apflow.core.lazy`): ``apflow.llm.json_answer``
alone (the ``llm_executor``'s answer parsing) does not load the model clients.
"""

from typing import TYPE_CHECKING

from apflow.core.lazy import lazy_exports

if TYPE_CHECKING:
    from apflow.llm.base import Completion, LLMClient, Message, Usage
    from apflow.llm.factory import default_model, get_client, local_installed
    from apflow.llm.scripted import ScriptedClient

_EXPORTS = {
    "apflow.llm.base": ["Completion", "LLMClient", "Message", "Usage"],
    "apflow.llm.factory": ["default_model", "get_client", "local_installed"],
    "apflow.llm.scripted": ["ScriptedClient"],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "Completion",
    "LLMClient",
    "Message",
    "ScriptedClient",
    "Usage",
    "default_model",
    "get_client",
    "local_installed",
]
