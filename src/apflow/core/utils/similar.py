"""``difflib.get_close_matches`` with the same answers for less work.

Why: "did you mean" hints compare an unknown id with every task id, and difflib computes
the full (pure Python) ``ratio`` for every candidate that passes its quick filters: ~2 ms
per unknown id against 200 look-alike ids. The quick ratios are upper bounds of the full
one, so candidates are tried from the highest bound down, and the search stops once the
``n`` best found so far beat every bound left.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from difflib import SequenceMatcher


def close_matches(
    word: str, possibilities: Iterable[str], n: int = 3, cutoff: float = 0.6
) -> list[str]:
    """Exactly ``difflib.get_close_matches(word, possibilities, n, cutoff)``."""
    if not n > 0:
        raise ValueError(f"n must be > 0: {n!r}")
    if not 0.0 <= cutoff <= 1.0:
        raise ValueError(f"cutoff must be in [0.0, 1.0]: {cutoff!r}")
    matcher = SequenceMatcher()
    matcher.set_seq2(word)
    bounded = []
    for x in possibilities:
        matcher.set_seq1(x)
        if matcher.real_quick_ratio() >= cutoff:
            bound = matcher.quick_ratio()
            if bound >= cutoff:
                bounded.append((bound, x))
    # difflib keeps the n largest (ratio, x) pairs; (bound, x) >= (ratio, x) for each x.
    bounded.sort(reverse=True)
    best: list[tuple[float, str]] = []  # a min-heap of the n largest so far
    for bound, x in bounded:
        if len(best) == n and best[0] > (bound, x):
            break
        matcher.set_seq1(x)
        ratio = matcher.ratio()
        if ratio >= cutoff:
            if len(best) < n:
                heapq.heappush(best, (ratio, x))
            elif (ratio, x) > best[0]:
                heapq.heapreplace(best, (ratio, x))
    return [x for _ratio, x in sorted(best, reverse=True)]
