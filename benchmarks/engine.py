"""Engine benchmark: how fast does apflow run wide, chain and layered trees?

Prints ONE JSON line: engine, runner, workers, shape, n, sleep_ms, max_concurrency, run_s,
cpu_s (this process's CPU time during the run, all threads), tasks_per_s, peak_rss_mb,
all_completed (and cluster_start_s with ``--runner dask``).
``--engine asyncio`` runs the same shape with a bare asyncio topological runner (no
database): the physical limit the real engine is compared to. ``--runner dask --workers N``
runs the executors on a local Dask cluster of N worker processes (started before the timer;
``--cluster ADDRESS`` uses a running one instead), the engine staying in this process.

Shapes (n tasks in total, task 0 is the root by ``parent_id``):
  wide    n independent tasks, all children of the root; ideal makespan = 1 x sleep
  chain   task i depends on task i-1; ideal makespan = n x sleep
  layers  ~sqrt(n) layers of ~sqrt(n) tasks; each task depends on two tasks of the
          layer before; ideal makespan = layers x sleep

Tree creation (one ``create_tasks`` transaction) is not part of ``run_s``; loading the
tree, scheduling, executing and writing every state change is.

    python benchmarks/engine.py --engine apflow --shape wide --n 10000
    python benchmarks/engine.py --runner dask --workers 2 --shape wide --n 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def build_shape(shape: str, n: int) -> list[list[int]]:
    """Dependencies of each task, by index: deps[i] lists the indexes task i waits for."""
    if n < 1:
        raise SystemExit("--n must be >= 1")
    if shape == "wide":
        return [[] for _ in range(n)]
    if shape == "chain":
        return [[] if i == 0 else [i - 1] for i in range(n)]
    if shape == "layers":
        width = max(1, round(math.sqrt(n)))
        deps: list[list[int]] = []
        for i in range(n):
            layer, pos = divmod(i, width)
            if layer == 0:
                deps.append([])
                continue
            start = (layer - 1) * width
            picks = {start + pos % width, start + (pos + 1) % width}
            deps.append(sorted(p for p in picks if p < i))
        return deps
    raise SystemExit(f"unknown shape {shape!r}; use wide, chain or layers")


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def run_asyncio(deps: list[list[int]], sleep_s: float, max_concurrency: int) -> bool:
    """Bare asyncio topological runner: the same scheduling with no storage at all."""
    n = len(deps)
    waiting = [len(d) for d in deps]
    dependents: list[list[int]] = [[] for _ in range(n)]
    for i, ds in enumerate(deps):
        for d in ds:
            dependents[d].append(i)
    done = [False] * n
    ready = [i for i in range(n) if waiting[i] == 0]
    running: set[asyncio.Task] = set()

    async def work(i: int) -> int:
        if sleep_s > 0:
            await asyncio.sleep(sleep_s)
        return i

    while ready or running:
        while ready and len(running) < max_concurrency:
            running.add(asyncio.ensure_future(work(ready.pop())))
        finished, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for fut in finished:
            i = fut.result()
            done[i] = True
            for j in dependents[i]:
                waiting[j] -= 1
                if waiting[j] == 0:
                    ready.append(j)
    return all(done)


async def run_apflow(
    deps: list[list[int]],
    sleep_s: float,
    max_concurrency: int | None,
    db_path: Path,
    cluster: str | None = None,
) -> tuple[float, float, bool, float | None]:
    from sqlalchemy import func, select

    from apflow.core.database import create_session, dispose_engines
    from apflow.core.engine import TaskManager
    from apflow.core.executor import BaseTask
    from apflow.core.models import TaskModel, new_id
    from apflow.core.registry import ExecutorRegistry

    registry = ExecutorRegistry()

    class BenchSleep(BaseTask):
        id = "bench_sleep"
        description = "Sleeps params-free for the benchmark's --sleep-ms, then completes."

        async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
            if sleep_s > 0:
                await asyncio.sleep(sleep_s)
            return {"status": "completed", "result": None}

    registry.register(BenchSleep)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    runner, cluster_start_s = None, None
    if cluster is not None:
        from apflow.core.runners.dask import DaskRunner

        started = time.perf_counter()
        runner = DaskRunner(cluster)
        await runner.start()
        cluster_start_s = time.perf_counter() - started
    session = create_session(f"sqlite+aiosqlite:///{db_path}")
    manager = TaskManager(
        session, max_concurrency=max_concurrency, registry=registry, runner=runner
    )
    ids = [new_id() for _ in deps]
    rows = [
        {
            "name": f"t{i}",
            "id": ids[i],
            "parent_id": None if i == 0 else ids[0],
            "dependencies": [{"id": ids[d], "required": True} for d in ds],
            "schemas": {"method": "bench_sleep"},
        }
        for i, ds in enumerate(deps)
    ]
    await manager.task_repository.create_tasks(rows)
    session.expunge_all()  # the run loads the tree itself, as a fresh process would

    start, cpu = time.perf_counter(), time.process_time()
    await manager.run_tree(ids[0])
    run_s = time.perf_counter() - start
    cpu_s = time.process_time() - cpu

    completed = (
        await session.execute(
            select(func.count()).select_from(TaskModel).where(TaskModel.status == "completed")
        )
    ).scalar_one()
    await session.close()
    await dispose_engines()
    if runner is not None:
        await runner.close()
    return run_s, cpu_s, completed == len(deps), cluster_start_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["apflow", "asyncio"], default="apflow")
    parser.add_argument("--runner", choices=["local", "dask"], default="local")
    parser.add_argument("--workers", type=int, default=2, help="local Dask worker processes")
    parser.add_argument("--cluster", default=None, help="a running Dask scheduler's address")
    parser.add_argument("--shape", choices=["wide", "chain", "layers"], default="wide")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--sleep-ms", type=float, default=0.0)
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=None,
        help="tasks in flight (default: the engine's, 32; on Dask the cluster's slots)",
    )
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: a temp file)")
    args = parser.parse_args(argv)

    deps = build_shape(args.shape, args.n)
    sleep_s = args.sleep_ms / 1000
    cluster = None
    if args.runner == "dask":
        cluster = args.cluster or f"local:{args.workers}"
    cluster_start_s = None
    if args.engine == "asyncio":
        start, cpu = time.perf_counter(), time.process_time()
        ok = asyncio.run(run_asyncio(deps, sleep_s, args.max_concurrency or 32))
        run_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    else:
        with tempfile.TemporaryDirectory() as tmp:
            db = args.db or Path(tmp) / "bench.db"
            run_s, cpu_s, ok, cluster_start_s = asyncio.run(
                run_apflow(deps, sleep_s, args.max_concurrency, db, cluster)
            )
    print(
        json.dumps(
            {
                "engine": args.engine,
                "runner": args.runner,
                "workers": (args.cluster or args.workers) if cluster else None,
                "shape": args.shape,
                "n": args.n,
                "sleep_ms": args.sleep_ms,
                "max_concurrency": args.max_concurrency or "default",
                "run_s": round(run_s, 3),
                "cpu_s": round(cpu_s, 3),
                "tasks_per_s": round(args.n / run_s, 1) if run_s > 0 else None,
                "peak_rss_mb": peak_rss_mb(),
                "all_completed": ok,
                **({"cluster_start_s": round(cluster_start_s, 2)} if cluster_start_s else {}),
            }
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("APFLOW_TASK_TIMEOUT", "3600")
    sys.exit(main())
