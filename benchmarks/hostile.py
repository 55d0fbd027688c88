"""How long do the worst trees *within* the default limits take to validate?

Each case is built to be expensive for one part of the validator while staying inside
``Limits()`` (1 MiB, 200 tasks, 200 dependencies per task, 64 KiB and 32 levels of inputs):

- ``dangle``: issue 15's reproduction 1, 199 tasks with 100 dangling dependencies each
- ``dense``: 200 tasks, task i depends on every task before it (~20,000 edges), valid
- ``refs``: 16 tasks whose 60 KB inputs are all ``${ghost.result}`` references
- ``undeclared``: the same with references to existing tasks the task does not depend on
- ``refs_distinct``: 35,200 references, no two alike
- ``schema``: rest_executor tasks whose headers hold thousands of non-string values
- ``operations``: transform_executor tasks with thousands of operations missing "op"
- ``operations_valid``: the same with valid operations
- ``duplicates``: 200 tasks that all have the id "a"
- ``deep``: 200 tasks whose inputs are 32 levels deep and wide (near 64 KB each)
- ``junk_text``: 17 tasks whose inputs are ~60 KB each of tiny nested lists

Prints one JSON line per case: size, issues, median / p99 / max wall ms and median / p99 CPU
ms of ``validate_tree`` on the JSON text (parse included), plus ``repair_tree`` where it
applies. (p99 of n runs is the value below the top 1%: the 19th of 20, the 99th of 100.)

    python benchmarks/hostile.py --repeat 30
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import apflow.executors  # noqa: F401  (registers the built-in executors)
from apflow.core.errors import ValidationFailed
from apflow.spec import Limits, repair_tree, validate_tree

AGG = "aggregate_results_executor"


def _root(ids: list[str]) -> dict[str, Any]:
    return {"id": "root", "schemas": {"method": AGG}, "dependencies": ids}


def _task(tid: str, method: str = "transform_executor", **fields: Any) -> dict[str, Any]:
    return {"id": tid, "parent_id": "root", "schemas": {"method": method}, **fields}


def dangle() -> list:
    ids = [f"{i:08d}" for i in range(199)]
    return [_root(ids)] + [
        _task(ids[i], inputs={"data": 1}, dependencies=[f"{i:04d}{j:04d}" for j in range(100)])
        for i in range(199)
    ]


def dense() -> list:
    ids = [f"t{i}" for i in range(199)]
    return [_root(ids)] + [
        _task(t, inputs={"data": 1}, dependencies=ids[:i]) for i, t in enumerate(ids)
    ]


def _refs(target: str) -> list:
    ids = [f"t{i}" for i in range(16)]
    blob = [f"${{{target}.result}}"] * 3000
    tasks = [_task(t, inputs={"data": blob}) for t in ids]
    return [_root(ids)] + tasks


def refs_distinct() -> list:
    """Like ``refs`` but no two references alike, so nothing is answered from a cache."""
    ids = [f"t{i}" for i in range(16)]
    return [_root(ids)] + [
        _task(t, inputs={"data": [f"${{ghost.result.f{n}_{k}}}" for k in range(2200)]})
        for n, t in enumerate(ids)
    ]


def schema() -> list:
    ids = [f"t{i}" for i in range(14)]
    headers = {f"h{j}": j for j in range(3500)}
    return [_root(ids)] + [
        _task(t, "rest_executor", inputs={"url": "https://example.com", "headers": headers})
        for t in ids
    ]


def operations() -> list:
    ids = [f"t{i}" for i in range(14)]
    ops = [{"path": "x"}] * 4000
    return [_root(ids)] + [_task(t, inputs={"data": 1, "operations": ops}) for t in ids]


def operations_valid() -> list:
    ids = [f"t{i}" for i in range(14)]
    ops = [{"op": "pluck", "path": "x"}] * 2000
    return [_root(ids)] + [_task(t, inputs={"data": 1, "operations": ops}) for t in ids]


def duplicates() -> list:
    return [_root(["a"])] + [_task("a", inputs={"data": 1}) for _ in range(199)]


def deep() -> list:
    """32 levels of inputs: two-wide for the top 9 levels, then one-wide (~40 KB per task)."""
    ids = [f"t{i}" for i in range(25)]
    value: Any = 1
    for level in range(30):
        value = [value] if level < 21 else [value, value]
    return [_root(ids)] + [_task(t, inputs={"data": value}) for t in ids]


def junk_text() -> str:
    """17 tasks whose inputs are ~60 KB each of tiny nested lists (~200,000 containers)."""
    ids = [f"t{i}" for i in range(17)]
    data = ",".join(["[0]"] * 12_000)
    head = '"parent_id": "root", "schemas": {"method": "transform_executor"}'
    tasks = [f'{{"id": "{t}", {head}, "inputs": {{"data": [{data}]}}}}' for t in ids]
    return "[" + json.dumps(_root(ids)) + "," + ",".join(tasks) + "]"


CASES: dict[str, Callable[[], Any]] = {
    "dangle": dangle,
    "dense": dense,
    "refs": lambda: _refs("ghost"),
    "undeclared": lambda: _refs("t0"),
    "refs_distinct": refs_distinct,
    "schema": schema,
    "operations": operations,
    "operations_valid": operations_valid,
    "duplicates": duplicates,
    "deep": deep,
    "junk_text": junk_text,
}


def measure(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    walls.sort()
    cpus.sort()
    p99 = max(0, int(len(walls) * 0.99) - 1)
    return {
        "median_ms": round(statistics.median(walls), 1),
        "p99_ms": round(walls[p99], 1),
        "max_ms": round(walls[-1], 1),
        "cpu_median_ms": round(statistics.median(cpus), 1),
        "cpu_p99_ms": round(cpus[p99], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="default: all")
    args = parser.parse_args()
    limits = Limits()
    for name in args.case or list(CASES):
        tree = CASES[name]()
        text = tree if isinstance(tree, str) else json.dumps(tree)
        assert len(text.encode()) <= limits.max_document_bytes, (name, len(text))
        report = validate_tree(text)
        limit_codes = {"document_too_large", "too_many_tasks", "too_many_dependencies"}
        limit_codes |= {"input_too_large", "too_deep", "value_too_long", "not_json"}
        assert not limit_codes & set(report.codes()), (name, report.codes()[:3])
        row: dict[str, Any] = {"case": name, "bytes": len(text), "issues": len(report.issues)}
        row.update(measure(lambda text=text: validate_tree(text), args.repeat))

        def repair(text: str = text) -> None:
            try:
                repair_tree(text)
            except ValidationFailed:
                pass

        row["repair_median_ms"] = measure(repair, max(3, args.repeat // 4))["median_ms"]
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
