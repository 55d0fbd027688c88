"""Greedy grammar-constrained sampling that checks the best token first.

llama-cpp-python applies the grammar to every vocabulary entry at each step (152k for
Qwen2.5): ~25 ms of CPU per token on top of ~65 ms for the model itself. At temperature 0 the
answer is the highest-scoring token the grammar allows, so it is enough to check the overall
best token and fall back to the full mask only when the grammar rejects it (llama.cpp's own
``common_sampler`` does the same). The chosen tokens are identical to the full mask's.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

import llama_cpp
import numpy as np


class GreedyGrammarSampler:
    """Stands in for llama-cpp-python's ``LlamaSampler`` (only ``sample`` is used)."""

    def __init__(self, llm: Any, grammar: Any) -> None:
        self.n_vocab = int(llm.n_vocab())
        self._smpl = llama_cpp.llama_sampler_init_grammar(
            llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self._smpl:
            raise ValueError("llama.cpp rejected the grammar")
        self._one = (llama_cpp.llama_token_data * 1)()
        self._full = (llama_cpp.llama_token_data * self.n_vocab)()
        self._full_np = np.ctypeslib.as_array(self._full)
        self._ids = np.arange(self.n_vocab, dtype=np.int32)
        self.fast = 0
        self.masked = 0

    def _apply(self, data: Any, size: int) -> None:
        array = llama_cpp.llama_token_data_array(data=data, size=size, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(self._smpl, ctypes.byref(array))

    def sample(self, ctx: Any, idx: int = -1) -> int:
        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(ctx.ctx, idx), shape=(self.n_vocab,)
        )
        best = int(np.argmax(logits))
        self._one[0].id, self._one[0].logit, self._one[0].p = best, float(logits[best]), 0.0
        self._apply(self._one, 1)
        if self._one[0].logit != -math.inf:
            token = best
            self.fast += 1
        else:
            full = self._full_np
            full["id"] = self._ids
            full["logit"] = logits
            full["p"] = 0.0
            self._apply(self._full, self.n_vocab)
            pick = int(np.argmax(full["logit"]))
            if full["logit"][pick] == -math.inf:
                raise RuntimeError("the grammar allows no token here")
            token = int(full["id"][pick])
            self.masked += 1
        llama_cpp.llama_sampler_accept(self._smpl, token)
        return token

    def close(self) -> None:
        if self._smpl:
            llama_cpp.llama_sampler_free(self._smpl)
            self._smpl = None

    def __del__(self) -> None:
        self.close()


def install(llm: Any) -> None:
    """Make ``llm`` use :class:`GreedyGrammarSampler` for greedy, penalty-free grammar requests."""
    original = llm._init_sampler

    def init_sampler(**kwargs: Any) -> Any:
        plain = (
            kwargs.get("grammar") is not None
            and kwargs.get("temp") == 0.0
            and not kwargs.get("logits_processor")
            and kwargs.get("repeat_penalty", 1.0) == 1.0
            and not kwargs.get("frequency_penalty")
            and not kwargs.get("presence_penalty")
            and not kwargs.get("mirostat_mode")
        )
        if plain:
            llm._apflow_last_sampler = GreedyGrammarSampler(llm, kwargs["grammar"])
            return llm._apflow_last_sampler
        return original(**kwargs)

    llm._init_sampler = init_sampler
