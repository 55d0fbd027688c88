"""The embedded backend: a GGUF model run in-process by llama.cpp, offline, no API key.

Why it is shaped this way: a 1.5B model on 2 CPU cores decodes ~10 tokens/s, so every saved
token counts. The model loads once per process (loading maps 1 GB); one decode runs at a time
(two would fight for the same cores); a RAM cache of llama.cpp states, looked up by longest
token prefix, means only the new tail of a prompt is evaluated, even when the prompts of two
phases alternate; and JSON answers are decoded under the caller's JSON Schema with llguidance,
forced runs evaluated in one batch (see ``local_guided``), so they always parse.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import os
import threading
import time
from pathlib import Path
from typing import Any

from apflow.core.errors import LLMError
from apflow.core.settings import settings
from apflow.llm import local_models
from apflow.llm.base import Completion, Message, Usage, decode_guard

INSTALL_HINT = "pip install 'apflow[local]' && apflow models install"

# ggml's OpenMP threads otherwise spin while waiting; on a core shared with other processes a
# spinning thread steals the time its peer needs (measured: 2 threads on a busy 2-core machine
# 1.4 tokens/s spinning, 12-18 passive). libgomp reads this once, when llama_cpp is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_load_lock = threading.Lock()
_decode_lock = threading.Lock()
_models: dict[tuple[str, int], Any] = {}
_threads_in_use: dict[int, int] = {}


def backend_available() -> bool:
    """True when llama-cpp-python is importable (the ``local`` extra is installed)."""
    return importlib.util.find_spec("llama_cpp") is not None


def is_installed(name: str | None = None) -> bool:
    """True when the backend can run the default (or named) model without any install step."""
    return backend_available() and local_models.is_installed(name)


def free_cores() -> int:
    """Cores this process may use: CPU affinity, capped by a cgroup CPU quota.

    More threads than free cores makes llama.cpp ~10x slower (OpenMP threads spin waiting
    for a core), so this is the ceiling of the default.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def idle_cores(sample_seconds: float = 0.1) -> int:
    """Cores not busy with other work right now (at least 1, at most :func:`free_cores`).

    Sampled while this process is idle, just before a decode: llama.cpp with more threads
    than idle cores runs several times slower than with fewer threads.
    """
    import psutil

    cores = free_cores()
    busy = psutil.cpu_percent(interval=sample_seconds) / 100 * (os.cpu_count() or cores)
    return max(1, min(cores, round((os.cpu_count() or cores) - busy)))


def configured_threads() -> int | None:
    """``APFLOW_LOCAL_THREADS`` (a positive int), or None when unset."""
    return settings().local_threads


def default_threads() -> int:
    """``APFLOW_LOCAL_THREADS`` if set, else :func:`free_cores`."""
    return configured_threads() or free_cores()


def _resolve_path(model_path: str | os.PathLike[str] | None) -> Path:
    if model_path:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise LLMError(
                f"model file not found: {path}",
                hint="pass an existing .gguf file as local:/path/model.gguf, or use 'local'",
            )
        return path
    if not local_models.is_installed():
        raise LLMError(
            f"the default local model ({local_models.DEFAULT_MODEL}) is not installed",
            hint=f"run `{INSTALL_HINT}` (downloads ~1.1 GB once)",
        )
    return local_models.model_path()


def _cache_bytes() -> int:
    return settings().local_cache_mb << 20


def _lean_cache(base: type, capacity_bytes: int) -> Any:
    """A RAM prompt cache that does not keep llama-cpp-python's logits copy with each state.

    Each saved state otherwise carries ``n_batch x n_vocab`` floats (311 MB for Qwen2.5's
    152k vocabulary) that the capacity does not count. A restored state is always decoded
    again before sampling, so one row, which broadcasts on restore, is enough.
    """

    class LeanRAMCache(base):  # type: ignore[misc, valid-type]
        def __setitem__(self, key: Any, value: Any) -> None:
            value.scores = value.scores[-1:].copy()
            super().__setitem__(key, value)

    return LeanRAMCache(capacity_bytes=capacity_bytes)


def _load(path: Path, n_ctx: int, n_threads: int) -> Any:
    """The process-wide Llama for this file and context size, loaded on first use."""
    key = (str(path.resolve()), n_ctx)
    with _load_lock:
        llm = _models.get(key)
        if llm is None:
            try:
                from llama_cpp import Llama, LlamaRAMCache
            except ImportError:
                raise LLMError(
                    "llama-cpp-python is not installed", hint=f"install it with `{INSTALL_HINT}`"
                ) from None
            try:
                llm = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    n_batch=512,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise LLMError(
                    f"llama.cpp could not load {path}: {exc}",
                    hint="check that the file is a complete GGUF model (apflow models list)",
                ) from None
            cache_bytes = _cache_bytes()
            if cache_bytes:
                # states keyed by prompt tokens: a request restores the longest matching prefix,
                # so alternating prompts (multi-phase) each keep their system prompt evaluated
                llm.set_cache(_lean_cache(LlamaRAMCache, cache_bytes))
            if not _models:
                atexit.register(_close_all)
            _models[key] = llm
            _threads_in_use[id(llm)] = n_threads
        return llm


def _close_all() -> None:
    """Free the models before interpreter shutdown: llama-cpp-python's own finaliser runs
    after its module is torn down and prints a TypeError traceback on exit."""
    for llm in list(_models.values()):
        try:
            llm.close()
        except Exception:  # exiting anyway
            pass
    _models.clear()


def _set_threads(llm: Any, n_threads: int) -> None:
    if _threads_in_use.get(id(llm)) != n_threads:
        import llama_cpp

        llama_cpp.llama_set_n_threads(llm.ctx, n_threads, n_threads)
        _threads_in_use[id(llm)] = n_threads


class LocalClient:
    """Runs chat completions on a local GGUF model; implements the ``LLMClient`` protocol."""

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        n_threads: int | None = None,
        n_ctx: int = 4096,
    ) -> None:
        self.path = _resolve_path(model_path)
        self.model = f"local:{model_path}" if model_path else "local"
        # None: follow the idle cores at each request (other work on the machine comes and goes)
        self.n_threads = n_threads or configured_threads()
        self.n_ctx = n_ctx
        self.last_stats: dict[str, float] = {}

    def _llama(self) -> Any:
        return _load(self.path, self.n_ctx, self.n_threads or free_cores())

    def _budget(self, llm: Any, messages: list[Message], max_tokens: int) -> int:
        """``max_tokens`` cut to the room left in the context window (an overflow fails late)."""
        text = "\n".join(str(m.get("content", "")) for m in messages)
        # + a few tokens per message for the chat template's role markers
        prompt = len(llm.tokenize(text.encode("utf-8"), add_bos=False)) + 8 * len(messages)
        room = self.n_ctx - prompt
        if room < 16:
            raise LLMError(
                f"the prompt (~{prompt} tokens) does not fit the local model's context window "
                f"of {self.n_ctx} tokens",
                hint="shorten the prompt (fewer executors or examples) or pass a larger n_ctx",
            )
        return max(1, min(max_tokens, room))

    def _run(
        self,
        messages: list[Message],
        json_schema: dict[str, Any] | None,
        temperature: float,
        max_tokens: int,
        logit_bias: dict[int, float] | None,
    ) -> Completion:
        llm = self._llama()
        max_tokens = self._budget(llm, messages, max_tokens)
        with _decode_lock:
            threads = self.n_threads or idle_cores()
            _set_threads(llm, threads)
            started = time.perf_counter()
            try:
                if json_schema is not None:
                    return self._guided(
                        llm, messages, json_schema, temperature, max_tokens, logit_bias, threads
                    )
                response = llm.create_chat_completion(
                    messages=[dict(m) for m in messages],
                    temperature=temperature,
                    max_tokens=max_tokens,
                    logit_bias=logit_bias,
                )
            except (ValueError, RuntimeError) as exc:  # e.g. the context window overflowed
                raise LLMError(
                    f"local model refused the request: {exc}",
                    hint=f"shorten the prompt or raise n_ctx (now {self.n_ctx})",
                ) from None
            seconds = time.perf_counter() - started
        usage = response.get("usage") or {}
        text = response["choices"][0]["message"].get("content") or ""
        completion_tokens = int(usage.get("completion_tokens", 0))
        self.last_stats = {
            "seconds": seconds,
            "threads": threads,
            "tokens_per_second": completion_tokens / seconds if seconds else 0.0,
        }
        return Completion(
            text=text,
            usage=Usage(int(usage.get("prompt_tokens", 0)), completion_tokens),
            model=self.model,
            raw=response,
        )

    def _guided(
        self,
        llm: Any,
        messages: list[Message],
        schema: dict[str, Any],
        temperature: float,
        max_tokens: int,
        logit_bias: dict[int, float] | None,
        threads: int,
    ) -> Completion:
        """JSON under ``schema`` through llguidance: forced runs cost one batch each."""
        from apflow.llm import local_guided  # needs numpy, which comes with the local extra

        if not local_guided.available():
            raise LLMError(
                "llguidance is not installed; the local model needs it for JSON answers",
                hint=f"install it with `{INSTALL_HINT}`",
            )
        out = local_guided.decode(
            llm,
            [dict(m) for m in messages],
            schema,
            max_tokens=max_tokens,
            temperature=temperature,
            logit_bias=logit_bias,
            state_key=(self.path, self.n_ctx),
            guard=decode_guard.get(),
        )
        completion = out.forced + out.decoded
        self.last_stats = {
            "seconds": out.prompt_seconds + out.decode_seconds,
            "prompt_seconds": out.prompt_seconds,
            "decode_seconds": out.decode_seconds,
            "prompt_evaluated": out.prompt_evaluated,
            "prompt_from_disk": out.prompt_from_disk,
            "threads": threads,
            "forced_tokens": out.forced,
            "decoded_tokens": out.decoded,
            "tokens_per_second": local_guided.tokens_per_second(out),
        }
        text = out.text if out.text is not None else local_guided.text_of(llm, out.tokens)
        return Completion(
            text=text,
            usage=Usage(out.prompt_tokens, completion, forced_tokens=out.forced),
            model=self.model,
            raw={"finish_reason": out.finish_reason, "stats": dict(self.last_stats)},
        )

    async def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        logit_bias: dict[int, float] | None = None,
    ) -> Completion:
        """One chat completion; with ``json_schema`` the answer is grammar-constrained JSON."""
        return await asyncio.to_thread(
            self._run, messages, json_schema, temperature, max_tokens, logit_bias
        )

    def token_eos(self) -> int:
        """The end-of-sequence token id (tests ban it to force long decodes)."""
        return int(self._llama().token_eos())
