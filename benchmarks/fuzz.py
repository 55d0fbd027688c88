"""Fuzz the tree gate: hostile inputs through validate -> repair -> validate.

Each input is junk JSON text, a junk Python object, or a plausible tree with a few hostile
mutations (dangling ids, duplicates, loops, long strings, deep values, huge numbers, NaN,
lone surrogates, non-string keys, many dependencies). For each one it checks:

- ``validate_tree`` never raises, and every issue has a message and a printable text;
- ``repair_tree`` raises nothing but ValidationFailed;
- after one repair no issue is marked ``fixable``, and repair(repair(x)) == repair(x);
- a valid input stays valid after repair;
- nothing takes longer than --slow seconds (default 1).

Prints one JSON summary line (inputs, crashes, slow inputs, failures by kind, p50/p99/max
ms) and the first few failing inputs (shortened) on stderr. Exit 1 on any failure.

    python benchmarks/fuzz.py --n 20000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import traceback
from typing import Any

import apflow.executors  # noqa: F401  (registers the built-in executors)
from apflow.core.errors import ValidationFailed
from apflow.core.registry import default_registry
from apflow.spec import repair_tree, validate_tree

EXECUTORS = ["transform_executor", "aggregate_results_executor", "rest_executor", "llm_executor"]
AGG = "aggregate_results_executor"
IDS = ["a", "b", "c", "root", "root_1", "root_2", "a_2", "x" * 100, "zz"]


def deep(n: int, leaf: Any = 1) -> Any:
    value = leaf
    for k in range(n):
        value = {"a": value} if k % 2 else [value]
    return value


def junk_scalar(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            True,
            0,
            -1,
            10 ** rng.choice([3, 300, 1200]),
            float("nan"),
            float("inf"),
            1e308,
            "",
            "\ud800",
            "x" * rng.choice([1, 101, 256, 70000]),
            "${a.result.x}",
            "${root_1.result.x}",
            "${a_2.result}",
            "${bad",
            "${}",
            {1, 2},
            b"bytes",
            object(),
            (1, 2),
        ]
    )


def junk(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.45:
        return junk_scalar(rng)
    if roll < 0.6:
        return deep(rng.choice([5, 31, 33, 150, 250, 1500]), junk_scalar(rng))
    if roll < 0.8:
        return [junk(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    out: dict[Any, Any] = {}
    for _ in range(rng.randint(0, 4)):
        key = rng.choice(["a", "id", "method", "timeout", "retries", 1, "\udfff", ("t",)])
        out[key] = junk(rng, depth + 1)
    return out


def plausible(rng: random.Random) -> list[dict[str, Any]]:
    n = rng.randint(1, 8)
    ids = [f"t{i}" for i in range(n)]
    tasks = []
    for i, tid in enumerate(ids):
        deps = rng.sample(ids[:i], k=min(i, rng.randint(0, 2)))
        inputs: dict[str, Any] = {"data": rng.choice([1, "x", [1, 2]])}
        if deps and rng.random() < 0.5:
            inputs["data"] = f"${{{deps[0]}.result}}"
        tasks.append(
            {
                "id": tid,
                "parent_id": "root",
                "schemas": {"method": "transform_executor"},
                "dependencies": deps,
                "inputs": inputs,
            }
        )
    root = {"id": "root", "schemas": {"method": "aggregate_results_executor"}, "dependencies": ids}
    return [root, *tasks]


FIELDS = ["id", "name", "parent_id", "dependencies", "schemas", "inputs", "priority", "params"]


#: Mutations that keep every value small and well-formed: only the structure is hostile.
STRUCTURAL = [1, 2, 3, 4, 7, 8, 11, 13, 14, 15]


def mutate(rng: random.Random, tree: list[dict[str, Any]], structural: bool = False) -> None:
    task = rng.choice(tree)
    kind = rng.choice(STRUCTURAL) if structural else rng.randrange(16)
    if kind == 0:
        task[rng.choice(FIELDS)] = junk(rng)
    elif kind == 1:
        task["dependencies"] = list(task.get("dependencies") or []) + [rng.choice(IDS)]
    elif kind == 2:
        tree.append(dict(task))
    elif kind == 3:
        task["parent_id"] = rng.choice([*IDS, None, task["id"]])
    elif kind == 4:
        task["inputs"] = {"data": rng.choice(["${root_1.result.x}", "${a.result}", "${t0.result}"])}
    elif kind == 5:
        task["schemas"] = {"method": rng.choice(["Transform-Executor", "x" * 256, "LLM", "nope"])}
    elif kind == 6:
        task["dependencies"] = [f"d{j}" for j in range(rng.choice([3, 150, 250]))]
    elif kind == 7:
        task["id"] = rng.choice(IDS)
    elif kind == 8:
        task[rng.choice(["description", "note", 1])] = "extra"
    elif kind == 9:
        task["params"] = {"timeout": junk_scalar(rng), "x": deep(rng.choice([10, 40, 900]))}
    elif kind == 10:
        task["priority"] = junk_scalar(rng)
    elif kind == 11:
        tree.remove(task) if len(tree) > 1 else None
    elif kind == 12:
        task["name"] = rng.choice(["", None, "n" * 300, "t0", "\ud800"])
    elif kind == 13:
        task["schemas"] = {
            "method": rng.choice(["aggregate_results_executor", "Transform-Executor"])
        }
    elif kind == 14:
        task["dependencies"] = list(task.get("dependencies") or []) + [
            rng.choice([t["id"] for t in tree if isinstance(t.get("id"), str)] or ["a"])
        ]
    else:
        other = rng.choice(tree)
        target = other.get("id") if isinstance(other.get("id"), str) else "x"
        task["inputs"] = {"data": f"${{{target}.result.x}}"}


def make_input(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.1:
        return junk(rng)
    tree: Any = plausible(rng)
    structural = rng.random() < 0.6
    for _ in range(rng.randint(1, 4)):
        mutate(rng, tree, structural)
    if roll < 0.25:
        try:
            return json.dumps(tree)
        except (TypeError, ValueError, RecursionError):
            return rng.choice(["[" * 100_000, "[" + "9" * 5000 + "]", '[{"id": NaN}]'])
    if roll < 0.3:
        return {"tasks": tree}
    return tree


def check(value: Any) -> list[str]:
    """The ways ``value`` breaks the gate's promises (empty: none)."""
    problems = []
    try:
        report = validate_tree(value)
    except Exception:  # noqa: BLE001 - the point is to catch anything
        return ["validate raised: " + traceback.format_exc(limit=3)]
    for issue in report.issues:
        if not issue.message:
            problems.append(f"issue without message: {issue.code}")
        try:
            json.dumps(issue.model_dump(), ensure_ascii=False).encode("utf-8")
        except (UnicodeEncodeError, ValueError, TypeError) as exc:
            problems.append(f"issue not printable ({issue.code}): {exc}")
    try:
        spec, _fixes = repair_tree(value)
    except ValidationFailed:
        return problems
    except Exception:  # noqa: BLE001
        return [*problems, "repair raised: " + traceback.format_exc(limit=3)]
    try:
        problems += _after_repair(report, spec)
    except Exception:  # noqa: BLE001
        problems.append("after repair raised: " + traceback.format_exc(limit=3))
    return problems


def _after_repair(report: Any, spec: Any) -> list[str]:
    problems = []
    after = validate_tree(spec)
    left = [i.line() for i in after.issues if i.fixable]
    if left:
        problems.append("fixable issue left after repair: " + "; ".join(left)[:300])
    if report.valid and not after.valid:
        problems.append("repair broke a valid tree: " + after.to_text()[:300])
    again, more = repair_tree(spec)
    if more or again.to_list() != spec.to_list():
        problems.append(f"repair is not one pass: second pass did {more}")
    return problems


def shorten(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 600 else text[:600] + "..."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="number of inputs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--slow", type=float, default=1.0, help="seconds that count as slow")
    parser.add_argument("--show", type=int, default=5, help="failing inputs to print")
    args = parser.parse_args()
    assert default_registry.ids(), "no executors registered"
    rng = random.Random(args.seed)
    times: list[float] = []
    failures: dict[str, int] = {}
    shown = 0
    slow = 0
    for _ in range(args.n):
        value = make_input(rng)
        start = time.perf_counter()
        problems = check(value)
        elapsed = time.perf_counter() - start
        times.append(elapsed * 1000)
        if elapsed > args.slow:
            slow += 1
            problems.append(f"slow: {elapsed:.2f} s")
        for problem in problems:
            kind = ascii(problem.split(":")[0])[1:-1]
            failures[kind] = failures.get(kind, 0) + 1
        if problems and shown < args.show:
            shown += 1
            print(ascii(f"--- {problems}")[1:-1], f"\n    input: {shorten(value)}", file=sys.stderr)
    times.sort()
    summary = {
        "inputs": args.n,
        "seed": args.seed,
        "crashes": sum(v for k, v in failures.items() if k.endswith("raised")),
        "slow": slow,
        "failures": failures,
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(times[int(len(times) * 0.99) - 1], 2),
        "max_ms": round(times[-1], 2),
    }
    print(json.dumps(summary))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
