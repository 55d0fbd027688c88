"""The runaway guard of the schema-constrained decoder (no model needed; numpy comes with the
local extra)."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")

from apflow.llm import local_guided  # noqa: E402
from apflow.llm.local_guided import RUNAWAY_SPAN, runaway  # noqa: E402


def test_a_repeated_block_of_one_to_four_tokens_is_a_runaway():
    assert runaway([7, 8] + [0] * RUNAWAY_SPAN)  # "1000000..."
    assert runaway([5] + [1, 2, 3] * (RUNAWAY_SPAN // 3))  # "QJ9QJ9QJ9..."
    assert runaway([1, 2, 3, 4] * (RUNAWAY_SPAN // 4))
    assert runaway(list(range(1, 10)) * 3)  # "123456789123..." once "0" was banned


def test_ordinary_text_is_not_a_runaway():
    assert not runaway([0] * (RUNAWAY_SPAN - 1))  # too short to tell
    assert not runaway(list(range(100)))
    assert not runaway(list(range(13)) * RUNAWAY_SPAN)  # a longer period: a list of items
    assert not runaway([0] * RUNAWAY_SPAN + [1])  # the run was already left


class Guide:
    """The two calls _pick makes on an llguidance matcher, over a fixed set of allowed tokens."""

    def __init__(self, allowed: set[int], vocab: int) -> None:
        self.allowed, self.vocab = allowed, vocab

    def validate_tokens(self, tokens: list[int]) -> int:
        return int(tokens[0] in self.allowed)

    def compute_bitmask(self) -> bytes:
        bits = np.zeros(self.vocab + (-self.vocab) % 8, dtype=np.uint8)
        bits[list(self.allowed)] = 1
        return np.packbits(bits, bitorder="little").tobytes()


def pick(logits: list[float], allowed: set[int], banned: set[int]) -> int:
    values = np.array(logits, dtype=np.float32)
    guide = Guide(allowed, len(values))
    return local_guided._pick(values, guide, 0.0, None, np.random.default_rng(0), banned)


def test_banned_tokens_give_way_to_the_next_best_the_grammar_allows():
    logits = [0.0, 9.0, 5.0, 7.0]
    assert pick(logits, {0, 1, 2, 3}, set()) == 1
    assert pick(logits, {0, 1, 2, 3}, {1}) == 3
    assert pick(logits, {0, 1, 2}, {1}) == 2  # 3 is not allowed here


def test_a_banned_token_is_still_taken_when_the_grammar_allows_nothing_else():
    assert pick([0.0, 9.0, 5.0, 7.0], {1}, {1}) == 1
