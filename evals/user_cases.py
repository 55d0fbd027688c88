"""The user-dev suite: requests as users write them, gold trees over apflow's own executors.

Terse, chatty, out of order, non-native, typos, bullet lists. Gold conventions (see
docs/evals.md, "The apflow suites"): one task per named action plus any lookup a later step
needs; ``depends_on`` holds direct needs only (data flow, and the order of writes); reads
with no data flow and no write between them run in parallel; a fallback depends on what it
replaces and the step using whichever arrived depends on both (``meta.optional`` lists the
optional edges); plain merge / pick / filter / reshape is ``transform_executor``.
"""

from __future__ import annotations

from functools import partial

from builtin_cases import case as _case

case = partial(_case, prefix="user")
CASES: list[dict] = []
