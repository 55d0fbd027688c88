"""Evaluated system prompts kept on disk, so a new process does not evaluate them again.

Why: every ``apflow generate`` is a new process, and the generator's system prompt (rules,
executor catalogue, examples: ~1,100 tokens) takes 15-25 s to evaluate on 2 CPU cores, more
than the answer itself. The llama.cpp state right after that prefix is ~30 MB and loads in
well under a second. States are keyed by the model file, the context size and the exact
prefix tokens, so a changed prompt or registry simply misses.

Files live in ``APFLOW_LOCAL_STATE_DIR`` (default: the user cache dir, ``apflow/prompt-states``);
the oldest are deleted beyond ``APFLOW_LOCAL_STATE_MB`` (default 1024; ``0`` turns it off).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
from pathlib import Path
from typing import Any

import platformdirs

from apflow.core.settings import settings
from apflow.core.utils.logger import get_logger

logger = get_logger(__name__)
SUFFIX = ".state"


def folder() -> Path:
    configured = settings().local_state_dir
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_cache_dir("apflow")) / "prompt-states"


def capacity_bytes() -> int:
    return settings().local_state_mb << 20


def _path(model_path: Path, n_ctx: int, tokens: list[int]) -> Path:
    digest = hashlib.sha256()
    digest.update(f"{model_path.resolve()}|{model_path.stat().st_size}|{n_ctx}|".encode())
    digest.update(bytes((ctypes.c_int32 * len(tokens))(*tokens)))
    return folder() / (digest.hexdigest()[:32] + SUFFIX)


def load(llm: Any, model_path: Path, n_ctx: int, tokens: list[int]) -> bool:
    """Restore the state after ``tokens`` into ``llm``; False when there is none (or unusable)."""
    import llama_cpp

    if not capacity_bytes():
        return False
    path = _path(model_path, n_ctx, tokens)
    if not path.is_file():
        return False
    out = (llama_cpp.llama_token * len(tokens))()
    count = ctypes.c_size_t(0)
    ok = llama_cpp.llama_state_load_file(
        llm._ctx.ctx, str(path).encode(), out, len(tokens), ctypes.byref(count)
    )
    if not ok or count.value != len(tokens) or list(out) != tokens:
        logger.info("prompt state %s is unusable; evaluating the prompt", path.name)
        llm.n_tokens = 0  # whatever was loaded is not ours
        path.unlink(missing_ok=True)
        return False
    llm.input_ids[: len(tokens)] = tokens
    llm.n_tokens = len(tokens)
    os.utime(path)  # most recently used: the last to be deleted
    return True


def save(llm: Any, model_path: Path, n_ctx: int, tokens: list[int]) -> None:
    """Write the state after ``tokens`` (best effort: a full disk only costs speed)."""
    import llama_cpp

    capacity = capacity_bytes()
    if not capacity:
        return
    path = _path(model_path, n_ctx, tokens)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        array = (llama_cpp.llama_token * len(tokens))(*tokens)
        if not llama_cpp.llama_state_save_file(
            llm._ctx.ctx, str(partial).encode(), array, len(tokens)
        ):
            partial.unlink(missing_ok=True)
            return
        partial.replace(path)
        _evict(path.parent, capacity)
    except OSError as exc:
        logger.info("could not keep the prompt state on disk: %s", exc)


def _evict(where: Path, capacity: int) -> None:
    files = sorted(where.glob("*" + SUFFIX), key=lambda p: p.stat().st_mtime, reverse=True)
    total = 0
    for path in files:
        total += path.stat().st_size
        if total > capacity:
            path.unlink(missing_ok=True)
