"""Few-shot examples from ``apflow/prompts/examples/*.json``, picked to fit the request.

An example is shown only when every executor it uses is on offer (otherwise it would
teach the model to use something it may not), and the closest one to the requirement
by BM25 wins when a count is asked for.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from apflow.core.errors import PromptError
from apflow.generator.catalogue import AGGREGATOR, BM25, tokens
from apflow.generator.prompting import PACKAGE


@lru_cache(maxsize=1)
def load_examples() -> tuple[dict[str, Any], ...]:
    """Every example file: ``{"requirement", "plan": {"steps": [...]}, "tasks": [...]}``."""
    folder = resources.files(PACKAGE).joinpath("examples")
    out = []
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".json"):
            continue
        try:
            data = json.loads(item.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise PromptError(f"prompt example {item.name} is not JSON: {exc}") from None
        data["name"] = item.name
        out.append(data)
    return tuple(out)


def executors_of(example: dict[str, Any]) -> set[str]:
    return {t["schemas"]["method"] for t in example.get("tasks", [])}


def pick(requirement: str, offered_ids: set[str], count: int | None = None) -> list[dict[str, Any]]:
    """Examples that use only offered executors: all of them in file order (``count=None``),
    or the ``count`` most similar to the requirement.

    All, in a fixed order, is the default: the prompt's system part then does not depend on
    the request, so the local backend evaluates it once and reuses it from its cache.
    """
    usable = {e["name"]: e for e in load_examples() if executors_of(e) <= offered_ids}
    if not usable:
        return []
    if count is None:
        return list(usable.values())
    index = BM25({name: tokens(e["requirement"]) for name, e in usable.items()})
    return [usable[name] for name, _ in index.rank(tokens(requirement))[:count]]


def compact(value: Any) -> str:
    """JSON without spaces: fewer tokens to read, and the model copies the style."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def working_tasks(tasks: list[Any]) -> list[Any]:
    """Tasks as the model writes them: no aggregator root, no parent_id, no defaults.

    The generator adds the root deterministically, so the model is never asked for it:
    small models otherwise give the root's id to the first real task.
    """
    roots = {t.get("id") for t in tasks if _is_root_aggregator(t)}
    out: list[Any] = []
    for task in tasks:
        if not isinstance(task, dict):  # a malformed answer is shown as the model wrote it
            out.append(task)
            continue
        if task.get("id") in roots:
            continue
        slim: dict[str, Any] = {"id": task.get("id"), "schemas": task.get("schemas")}
        slim["inputs"] = task.get("inputs") or {}
        raw_deps = task.get("dependencies")
        deps = [
            d if not isinstance(d, dict) or d.get("required") is False else d.get("id")
            for d in (raw_deps if isinstance(raw_deps, list) else [])
            if not isinstance(d, dict) or d.get("id") not in roots
        ]
        if deps:
            slim["dependencies"] = deps
        out.append(slim)
    return out


def _is_root_aggregator(task: Any) -> bool:
    if not isinstance(task, dict) or task.get("parent_id"):
        return False
    schemas = task.get("schemas")
    return isinstance(schemas, dict) and schemas.get("method") == AGGREGATOR


def for_prompt(example: dict[str, Any]) -> dict[str, str]:
    """The strings a template shows: requirement, plan JSON, the plan the structure phase
    gets (aggregator steps left out, as the generator does) and tree JSON (working tasks)."""
    plan = example.get("plan", {"steps": []})
    kept = [s for s in plan.get("steps", []) if s.get("executor") != AGGREGATOR]
    return {
        "requirement": example["requirement"],
        "plan": compact(plan),
        "planned": compact({"steps": kept}),
        "tree": compact({"tasks": working_tasks(example["tasks"])}),
    }
