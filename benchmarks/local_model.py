"""Embedded model benchmark: how long does the local llama.cpp model take per tree?

For each mode (single_shot, multi_phase) it generates trees with ``generate_tree`` on the
local model and records every model request: wall time, process CPU time (less than
wall x threads when other jobs hold the cores), prompt and completion tokens, completion
tokens/s, and the threads used. The first requirement pays for evaluating the constant
prompt prefix (system prompt + catalogue); later ones reuse it from the prompt cache.

    python benchmarks/local_model.py                         # both modes, 2 requirements
    python benchmarks/local_model.py --modes single_shot --json
    python benchmarks/local_model.py --raw                   # raw completions only
    python benchmarks/local_model.py --builtin 37            # the builtin eval requests

Every JSON answer is decoded under the strict tree schema: ``forced`` tokens were fixed by the
schema and evaluated in one batch per run, ``decoded`` ones were chosen by the model.
Prints a markdown table of requests, one of trees and the medians per mode (or one JSON
document with --json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REQUIREMENTS = [
    "Fetch the users from https://api.example.com/users and the orders from "
    "https://api.example.com/orders, join the orders to their users, summarise the joined "
    "data with an LLM, and combine everything into one report.",
    "Download the page https://example.com/blog, extract the article titles, count them, "
    "ask an LLM for a one-line summary of the titles, and combine the results.",
]


class Recorder:
    """Wraps a client and records one row per request (the generator sees the same API)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model = inner.model
        self.rows: list[dict[str, Any]] = []
        self.label = ""

    async def complete(self, messages: list[dict[str, str]], **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        completion = await self.inner.complete(messages, **kwargs)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        out = completion.usage.completion_tokens
        stats = getattr(self.inner, "last_stats", {})
        self.rows.append(
            {
                "label": self.label,
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "prompt_tokens": completion.usage.prompt_tokens,
                "completion_tokens": out,
                "forced": completion.usage.forced_tokens,
                "decoded": out - completion.usage.forced_tokens,
                "tokens_per_s": round(out / wall, 2) if wall else 0.0,
                "prompt_evaluated": stats.get("prompt_evaluated"),
                "threads": stats.get("threads"),
                "json": kwargs.get("json_schema") is not None,
            }
        )
        return completion


async def bench_trees(client: Recorder, modes: list[str], requirements: list[str]) -> list[dict]:
    from apflow.generator import generate_tree

    trees = []
    for mode in modes:
        for index, requirement in enumerate(requirements):
            client.label = f"{mode} #{index + 1}"
            first = len(client.rows)
            started = time.perf_counter()
            error = None
            try:
                result = await generate_tree(requirement, mode=mode, client=client)
                tasks = len(result.tree.tasks)
            except Exception as exc:  # a failed generation is a result too
                error, tasks = f"{type(exc).__name__}: {exc}"[:200], 0
            rows = client.rows[first:]
            trees.append(
                {
                    "label": client.label,
                    "wall_s": round(time.perf_counter() - started, 1),
                    "requests": len(rows),
                    "prompt_tokens": sum(r["prompt_tokens"] for r in rows),
                    "completion_tokens": sum(r["completion_tokens"] for r in rows),
                    "forced": sum(r["forced"] for r in rows),
                    "tasks": tasks,
                    "error": error,
                }
            )
    return trees


async def bench_raw(client: Recorder) -> None:
    """The same 300-token system prompt twice, then a short JSON answer under a grammar."""
    system = "You turn requests into task trees. Executors: " + "; ".join(
        f"tool_{i}: does step {i} with a url and a prompt" for i in range(25)
    )
    schema = {
        "type": "object",
        "properties": {"tasks": {"type": "array", "items": {"type": "string"}, "maxItems": 5}},
        "required": ["tasks"],
    }
    for index, requirement in enumerate(REQUIREMENTS):
        client.label = f"raw #{index + 1}"
        messages = [{"role": "system", "content": system}, {"role": "user", "content": requirement}]
        await client.complete(messages, json_schema=schema, max_tokens=120)


def builtin_requests(limit: int) -> list[str]:
    """The first ``limit`` requests of the builtin eval suite, in file order."""
    path = Path(__file__).resolve().parents[1] / "evals" / "datasets" / "builtin.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["request"] for line in lines if line.strip()][:limit]


def medians(trees: list[dict], rows: list[dict]) -> list[dict]:
    """Per mode: median tree wall time, completion tokens/s and the forced share."""
    out = []
    for mode in dict.fromkeys(t["label"].split(" #")[0] for t in trees):
        mine = [t for t in trees if t["label"].startswith(mode + " #")]
        reqs = [r for r in rows if r["label"].startswith(mode + " #")]
        completion = sum(r["completion_tokens"] for r in reqs)
        wall = sum(r["wall_s"] for r in reqs)
        out.append(
            {
                "mode": mode,
                "trees": len(mine),
                "failed": sum(1 for t in mine if t["error"]),
                "median_s": round(statistics.median(t["wall_s"] for t in mine), 1),
                "p90_s": round(sorted(t["wall_s"] for t in mine)[int(0.9 * (len(mine) - 1))], 1),
                "requests_per_tree": round(len(reqs) / len(mine), 2),
                "tokens_per_s": round(completion / wall, 1) if wall else 0.0,
                "decoded_per_s": round(sum(r["decoded"] for r in reqs) / wall, 1) if wall else 0,
                "forced_share": f"{sum(r['forced'] for r in reqs) / completion:.0%}"
                if completion
                else "",
            }
        )
    return out


def markdown(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local", help="local or local:/path/model.gguf")
    parser.add_argument("--modes", default="single_shot,multi_phase")
    parser.add_argument("--requirements", type=int, default=2, help="how many (max 2)")
    parser.add_argument(
        "--builtin", type=int, default=0, help="use the first N builtin eval requests instead"
    )
    parser.add_argument("--raw", action="store_true", help="raw completions, no generator")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = parser.parse_args()

    from apflow.llm import get_client
    from apflow.llm.local import free_cores

    load_before = os.getloadavg()
    started = time.perf_counter()
    client = Recorder(get_client(args.model))
    trees: list[dict] = []
    if args.raw:
        asyncio.run(bench_raw(client))
    else:
        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        requests = (
            builtin_requests(args.builtin) if args.builtin else REQUIREMENTS[: args.requirements]
        )
        trees = asyncio.run(bench_trees(client, modes, requests))
    report = {
        "model": client.model,
        "free_cores": free_cores(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "total_s": round(time.perf_counter() - started, 1),
        "requests": client.rows,
        "trees": trees,
        "medians": medians(trees, client.rows) if trees else [],
    }
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    print(
        f"model {report['model']}, free cores {report['free_cores']}, load average "
        f"{report['loadavg_before'][0]} -> {report['loadavg_after'][0]}\n"
    )
    cols = [
        "label",
        "wall_s",
        "cpu_s",
        "prompt_tokens",
        "completion_tokens",
        "forced",
        "decoded",
        "prompt_evaluated",
        "tokens_per_s",
        "threads",
    ]
    print(markdown(client.rows, cols))
    if trees:
        print()
        print(
            markdown(
                trees,
                [
                    "label",
                    "wall_s",
                    "requests",
                    "prompt_tokens",
                    "completion_tokens",
                    "forced",
                    "tasks",
                    "error",
                ],
            )
        )
        print()
        print(markdown(report["medians"], list(report["medians"][0])))


if __name__ == "__main__":
    main()
