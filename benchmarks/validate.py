"""Validation benchmark: how long does validate_tree take on a large generated-looking tree?

Builds an n-task tree (default 200, the default task limit): an aggregate root over
~sqrt(n) layers, each task depending on two tasks of the layer before, half of the inputs
holding ``${dep.result.field}`` references, executors with real input schemas (required
fields, enums, nested objects). Times ``validate_tree`` on the JSON text (parse included),
on a list of dicts, and on an already parsed TaskTreeSpec, plus ``repair_tree`` on a
forest of the same size. Prints ONE JSON line per measurement: wall-clock median / p95 /
cold ms and the median CPU ms (stable when other processes share the cores).

    python benchmarks/validate.py --n 200 --repeat 50
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

from apflow.core.executor import BaseTask
from apflow.core.registry import ExecutorRegistry
from apflow.executors.aggregate import AggregateResultsExecutor
from apflow.spec import parse_tree, repair_tree, validate_tree


class HttpExecutor(BaseTask):
    id = "http_executor"
    description = "benchmark executor with a strict schema"
    input_schema = {
        "type": "object",
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "method": {"type": "string", "enum": ["GET", "POST", "PUT", "DELETE"]},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "timeout": {"type": "number", "minimum": 0},
        },
        "required": ["url", "method"],
        "additionalProperties": False,
    }


class SummariseExecutor(BaseTask):
    id = "summarise_executor"
    description = "benchmark executor fed by references"
    input_schema = {
        "type": "object",
        "properties": {
            "text": {"type": "string"},
            "max_words": {"type": "integer", "minimum": 1, "maximum": 2000},
            "style": {"type": "string", "enum": ["bullet", "prose"]},
        },
        "required": ["text"],
    }


def build_tree(n: int) -> list[dict[str, Any]]:
    """A valid n-task tree (root included)."""
    width = max(1, round(math.sqrt(n - 1)))
    tasks: list[dict[str, Any]] = []
    for i in range(n - 1):
        layer, pos = divmod(i, width)
        tid = f"step_{i}"
        deps = []
        if layer:
            start = (layer - 1) * width
            deps = sorted({start + pos % width, start + (pos + 1) % width})
        if deps and i % 2:
            inputs: dict[str, Any] = {
                "text": f"${{step_{deps[0]}.result.body}} and ${{step_{deps[-1]}.result.body}}",
                "max_words": 200,
                "style": "bullet",
            }
            method = "summarise_executor"
        else:
            inputs = {"url": f"https://example.com/items/{i}", "method": "GET", "timeout": 5}
            method = "http_executor"
        tasks.append(
            {
                "id": tid,
                "name": f"Step {i}",
                "parent_id": "root",
                "dependencies": [{"id": f"step_{d}", "required": True} for d in deps],
                "schemas": {"method": method},
                "inputs": inputs,
                "priority": i % 4,
            }
        )
    root = {
        "id": "root",
        "schemas": {"method": "aggregate_results_executor"},
        "dependencies": [{"id": t["id"], "required": False} for t in tasks],
    }
    return [root, *tasks]


def measure(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    start = time.perf_counter()
    fn()
    cold = time.perf_counter() - start
    samples, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
    return {
        "cold_ms": round(cold * 1000, 2),
        "median_ms": round(statistics.median(samples) * 1000, 2),
        "p95_ms": round(p95 * 1000, 2),
        # CPU time is what the validator costs; wall time also counts waiting for a busy core.
        "cpu_median_ms": round(statistics.median(cpu) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="tasks in the tree, root included")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    registry = ExecutorRegistry()
    for cls in (AggregateResultsExecutor, HttpExecutor, SummariseExecutor):
        registry.register(cls)
    tree = build_tree(args.n)
    text = json.dumps(tree)
    spec = parse_tree(tree)
    report = validate_tree(text, registry)
    if not report.valid:
        raise SystemExit("benchmark tree is invalid:\n" + report.to_text())
    forest = [{**t, "parent_id": None} for t in tree[1:]]
    cases: dict[str, Callable[[], Any]] = {
        "validate_json_text": lambda: validate_tree(text, registry),
        "validate_list": lambda: validate_tree(tree, registry),
        "validate_spec": lambda: validate_tree(spec, registry),
        "repair_forest": lambda: repair_tree(forest, registry=registry),
    }
    for name, fn in cases.items():
        row = {"case": name, "n": args.n, "bytes": len(text), **measure(fn, args.repeat)}
        print(json.dumps(row))


if __name__ == "__main__":
    main()
