"""Embedded model benchmark: how long does the local llama.cpp model take per tree?

For each mode (single_shot, multi_phase) it generates trees with ``generate_tree`` on the
local model and records every model request: wall time, process CPU time (less than
wall x threads when other jobs hold the cores), prompt and completion tokens, completion
tokens/s, and the threads used. The first requirement pays for evaluating the constant
prompt prefix (system prompt + catalogue); later ones reuse it from the prompt cache.

    python benchmarks/local_model.py                         # both modes, 2 requirements
    python benchmarks/local_model.py --modes single_shot --json
    python benchmarks/local_model.py --raw                   # raw completions only

Prints a markdown table of requests and one of trees (or one JSON document with --json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
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
        self.rows.append(
            {
                "label": self.label,
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "prompt_tokens": completion.usage.prompt_tokens,
                "completion_tokens": out,
                "tokens_per_s": round(out / wall, 2) if wall else 0.0,
                "threads": getattr(self.inner, "last_stats", {}).get("threads"),
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
        trees = asyncio.run(bench_trees(client, modes, REQUIREMENTS[: args.requirements]))
    report = {
        "model": client.model,
        "free_cores": free_cores(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "total_s": round(time.perf_counter() - started, 1),
        "requests": client.rows,
        "trees": trees,
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
                    "tasks",
                    "error",
                ],
            )
        )


if __name__ == "__main__":
    main()
