"""The generation modes: single-shot, multi-phase (plan -> structure -> validate -> repair),
and the evals baseline (one plain prompt, no repair)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apflow.generator import catalogue, prompting
from apflow.generator.examples import compact, for_prompt
from apflow.generator.generation import Generation
from apflow.generator.parsing import steps_from
from apflow.generator.schemas import (
    MAX_TASKS,
    asked_inputs,
    need_id,
    planned_tree_schema,
    position_id,
    strict_plan_schema,
    strict_tree_schema,
    working_entries,
)
from apflow.llm.json_answer import JSONParseError, parse_json
from apflow.spec import TaskTreeSpec

#: Output budgets: a compact 10-task tree is ~600 tokens, a plan step ~35. Bounded so that a
#: small model stuck repeating itself stops early instead of running for minutes on a CPU.
TREE_TOKENS = 1280
PLAN_TOKENS = 400
TOKENS_PER_TASK = 120


def structure_tokens(steps: list[dict[str, Any]] | None) -> int:
    """The tree budget when the plan says how many tasks there will be (root included)."""
    if not steps:
        return TREE_TOKENS
    return min(TREE_TOKENS * 2, 200 + TOKENS_PER_TASK * (len(steps) + 1))


@dataclass
class Offer:
    """What the model is shown: catalogue entries, their ids, and the chosen examples."""

    entries: list[dict[str, Any]]
    examples: list[dict[str, Any]]

    @property
    def ids(self) -> list[str]:
        return [e["id"] for e in self.entries]

    @property
    def text(self) -> str:
        """The catalogue without the aggregator: the root is added for the model, not by it."""
        return catalogue.render(working_entries(self.entries))


async def single_shot(gen: Generation, offer: Offer, max_repairs: int) -> TaskTreeSpec:
    messages = prompting.render_messages(
        "single_shot.j2",
        catalogue=offer.text,
        examples=[for_prompt(e) for e in offer.examples],
        requirement=gen.requirement,
    )
    return await gen.settle(
        "generate",
        messages,
        schema=strict_tree_schema(asked_inputs(offer.entries, gen.requirement)),
        max_tokens=TREE_TOKENS,
        max_repairs=max_repairs,
        ask_for_missing=True,
    )


async def baseline(gen: Generation, offer: Offer) -> TaskTreeSpec:
    gen.repair = False
    messages = prompting.render_messages(
        "baseline.j2", catalogue=catalogue.render(offer.entries), requirement=gen.requirement
    )
    return await gen.settle(
        "generate", messages, schema=None, max_tokens=TREE_TOKENS, max_repairs=0
    )


def _clean_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plan with ids by position (``t1``, ``t2``...) and needs on earlier steps only.

    Under a strict grammar the plan already has this shape; an unconstrained model's plan
    (scripted, or a provider without structured outputs) is renumbered, its needs mapped to
    the new ids and any need on a later, unknown or the same step dropped.
    """
    kept = [s for s in steps if isinstance(s, dict) and s.get("executor") != catalogue.AGGREGATOR][
        :MAX_TASKS
    ]
    renamed = {str(s.get("id")): position_id(k) for k, s in enumerate(kept, start=1)}
    out = []
    for k, step in enumerate(kept, start=1):
        earlier = {position_id(j) for j in range(1, k)}
        raw = step.get("needs") or []
        needs: dict[str, Any] = {}  # id -> the need as the plan wrote it (optional kept)
        for need in raw if isinstance(raw, list) else [raw]:
            optional = isinstance(need, dict) and need.get("required") is False
            target = renamed.get(str(need_id(need)))
            if target in earlier and target not in needs:
                needs[target] = {"id": target, "required": False} if optional else target
        out.append(
            {
                "id": position_id(k),
                "does": str(step.get("does", "")),
                "executor": str(step.get("executor", "")),
                "needs": list(needs.values()),
            }
        )
    return out


async def plan(gen: Generation, offer: Offer) -> list[dict[str, Any]] | None:
    """Phase 1: steps in plain words. One retry on unreadable JSON, then carry on without."""
    messages = prompting.render_messages(
        "plan.j2",
        catalogue=offer.text,
        examples=[for_prompt(e) for e in offer.examples],
        requirement=gen.requirement,
    )
    schema = strict_plan_schema(offer.ids)
    with gen.phase("plan"):
        for retry in range(2):
            completion = await gen.ask(messages, schema=schema, max_tokens=PLAN_TOKENS)
            try:
                steps = _clean_steps(steps_from(parse_json(completion.text)))
                gen.record("plan", messages, completion.text, None, f"{len(steps)} steps")
                return steps or None
            except JSONParseError as exc:
                gen.record("plan", messages, completion.text, None, f"unreadable: {exc.args[0]}")
                if retry:
                    gen.emit("plan", "failed", f"no usable plan: {exc.args[0]}")
                    return None
                note = f"{exc.args[0]}. {exc.hint}"
                messages = [
                    *messages,
                    {"role": "assistant", "content": completion.text},
                    {"role": "user", "content": note},
                ]
    return None


async def multi_phase(
    gen: Generation, offer: Offer, max_repairs: int
) -> tuple[TaskTreeSpec, list[dict[str, Any]] | None]:
    steps = await plan(gen, offer)
    # The whole offer, not only the planned executors: the grammar already fixes each task's
    # executor, and an unchanging system part is evaluated once and then read from the cache.
    entries = asked_inputs(offer.entries, gen.requirement)
    messages = prompting.render_messages(
        "structure.j2",
        catalogue=offer.text,
        examples=[for_prompt(e) for e in offer.examples],
        requirement=gen.requirement,
        plan=compact({"steps": steps}) if steps else "(none: choose the steps yourself)",
    )
    spec = await gen.settle(
        "structure",
        messages,
        schema=planned_tree_schema(entries, steps) if steps else strict_tree_schema(entries),
        max_tokens=structure_tokens(steps),
        max_repairs=max_repairs,
    )
    return spec, steps
