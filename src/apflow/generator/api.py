"""``generate_tree``: a plain-English requirement in, a validated task tree out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from apflow.core.bus import EventBus
from apflow.core.errors import GenerationError
from apflow.core.settings import settings
from apflow.generator import catalogue, examples, modes
from apflow.generator.coverage import refuse_disabled_capability
from apflow.generator.generation import Generation
from apflow.generator.result import GenerationEvent, GenerationMode, GenerationResult
from apflow.llm import LLMClient, get_client
from apflow.spec import AGGREGATOR, ExecutorPolicy, default_policy


def effective_policy(
    policy: ExecutorPolicy | None, executors: Iterable[str] | None
) -> ExecutorPolicy:
    """The caller's policy narrowed to the allow-list (the aggregator is always allowed)."""
    base = policy if policy is not None else default_policy()
    if executors is None:
        return base
    wanted = set(executors) | {AGGREGATOR}
    if base.allowed is not None:
        wanted &= set(base.allowed) | {AGGREGATOR}
    return ExecutorPolicy(allowed=frozenset(wanted), denied=frozenset(base.denied))


def build_offer(
    requirement: str,
    registry: Any,
    policy: ExecutorPolicy,
    executors: Iterable[str] | None,
    catalogue_limit: int,
) -> modes.Offer:
    """Catalogue entries the model may use (policy and allow-list applied, BM25-selected)."""
    allow = list(executors) if executors is not None else None
    if allow is not None:
        unknown = [e for e in allow if e not in registry]
        if unknown:
            closest = {u: registry.closest(u, 2) for u in unknown}
            raise GenerationError(
                f"allow-list names unregistered executor(s): {', '.join(unknown)}",
                hint="; ".join(
                    f"{u}: did you mean {', '.join(c) or '?'}" for u, c in closest.items()
                ),
            )
    entries = catalogue.offered(
        registry, allow=allow, permits=policy.allows, requirement=requirement
    )
    chosen = catalogue.select(entries, requirement, limit=max(2, catalogue_limit))
    ids = {e["id"] for e in chosen}
    return modes.Offer(entries=chosen, examples=examples.pick(requirement, ids))


def checked_requirement(requirement: str, limit: int | None = None) -> str:
    """The stripped requirement, or GenerationError naming the limit it breaks.

    Why: the requirement goes into every prompt; uncapped, a pasted megabyte reached the
    model as 262,911 prompt tokens.
    """
    limit = settings().max_requirement_chars if limit is None else limit
    text = requirement.strip()
    if len(text) > limit:
        raise GenerationError(
            f"the requirement is {len(text):,} characters long; the limit is {limit:,} "
            "(APFLOW_MAX_REQUIREMENT_CHARS)",
            hint="describe the workflow itself, not the data it works on (pass data as task "
            "inputs or URLs), or raise APFLOW_MAX_REQUIREMENT_CHARS",
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise GenerationError(
            f"the requirement holds a lone UTF-16 surrogate at character {exc.start}",
            hint="send valid Unicode text (a surrogate pair split in two is the usual cause)",
        ) from None
    return text


async def generate_tree(
    requirement: str,
    *,
    mode: GenerationMode | str = GenerationMode.SINGLE_SHOT,
    model: str | None = None,
    registry: Any = None,
    executors: Iterable[str] | None = None,
    on_event: Callable[[GenerationEvent], None] | None = None,
    client: LLMClient | None = None,
    max_repairs: int = 2,
    catalogue_limit: int = 20,
    policy: ExecutorPolicy | None = None,
    max_requirement_chars: int | None = None,
    time_budget: float | None = None,
    bus: EventBus | None = None,
) -> GenerationResult:
    """Turn ``requirement`` into a task tree that passes validation against ``registry``.

    ``executors`` limits which executors may be used (the aggregator always may);
    ``client`` overrides ``model``. Raises :class:`GenerationError` with the attempt
    history when no valid tree is reached within ``max_repairs`` re-asks, and
    :class:`ConfigError`/:class:`LLMError` when the model cannot be reached. A requirement
    longer than ``max_requirement_chars`` (default ``APFLOW_MAX_REQUIREMENT_CHARS``, 20,000)
    is refused with GenerationError before any model is called. ``time_budget`` (seconds;
    default ``APFLOW_GENERATION_TIMEOUT``, 180; 0 for none) bounds the whole generation: the
    embedded model's answer running late ends after its last finished task (and the result
    says so in ``warnings``); with no time left for a call or a re-ask, GenerationError.
    Phase (``generate:*``) and ``model:call`` events go to ``bus`` (default: the current
    bus); ``on_event`` hears this generation's phase events only.
    """
    if not isinstance(requirement, str) or not requirement.strip():
        raise GenerationError(
            "the requirement is empty",
            hint='describe the workflow, e.g. "fetch https://example.com and summarise it"',
        )
    requirement = checked_requirement(requirement, max_requirement_chars)
    chosen_mode = GenerationMode.parse(mode)
    if max_repairs < 0:
        raise GenerationError(f"max_repairs must be >= 0, got {max_repairs}")
    if registry is None:
        from apflow.core.registry import default_registry

        registry = default_registry
    allow = list(executors) if executors is not None else None  # may be a one-shot iterator
    allowed = effective_policy(policy, allow)
    refuse_disabled_capability(requirement, registry, allowed, allow)
    offer = build_offer(requirement, registry, allowed, allow, catalogue_limit)
    llm = client if client is not None else get_client(model)
    budget = settings().generation_timeout if time_budget is None else time_budget
    gen = Generation(llm, registry, allowed, requirement, on_event=on_event, bus=bus)
    gen.offered = offer.entries
    if budget and budget > 0:
        gen.budget, gen.deadline = budget, time.monotonic() + budget
    plan = None
    if chosen_mode is GenerationMode.SINGLE_SHOT:
        tree = await modes.single_shot(gen, offer, max_repairs)
    elif chosen_mode is GenerationMode.MULTI_PHASE:
        tree, plan = await modes.multi_phase(gen, offer, max_repairs)
    else:
        tree = await modes.baseline(gen, offer)
    if chosen_mode is not GenerationMode.BASELINE:
        tree = gen.finished(tree)
    return GenerationResult(
        tree=tree,
        mode=chosen_mode.value,
        model=getattr(llm, "model", "") or "",
        plan=plan,
        fixes=gen.fixes,
        warnings=gen.warnings,
        attempts=[a.to_dict() for a in gen.attempts],
        stats=gen.stats,
    )


def generate_tree_sync(requirement: str, **kwargs: Any) -> GenerationResult:
    """Blocking wrapper of :func:`generate_tree` for scripts (not inside a running loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(generate_tree(requirement, **kwargs))
    raise GenerationError(
        "generate_tree_sync was called inside a running event loop",
        hint="use `await generate_tree(...)` in async code",
    )
