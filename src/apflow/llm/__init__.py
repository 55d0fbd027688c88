"""Model access: one protocol, backends chosen by a model string.

- ``"provider/model"``: litellm (OpenAI, Anthropic, Ollama, any OpenAI-compatible api_base)
- ``"scripted:PATH.json"``: canned responses (tests, demos, docs)
- ``"local"`` / ``"local:/path/model.gguf"``: the embedded llama.cpp model
"""

from apflow.llm.base import Completion, LLMClient, Message, Usage
from apflow.llm.factory import default_model, get_client, local_installed
from apflow.llm.scripted import ScriptedClient

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
