"""Dask runner: how fast a cancel takes effect, and what a worker death costs.

Runs on a local Dask cluster of ``--workers`` worker processes (started before any timer).
Prints one JSON line per case:

- ``cancel``: a tree of ``--tasks`` executors sleeping 60 s, all running; ``manager.cancel``
  is called and each executor notes when its coroutine got CancelledError on its worker.
  ``stop_ms`` = those times minus the moment cancel was called (median and max over every
  task of every repeat); ``return_ms`` = until ``cancel()`` returned (the tree is marked);
  ``run_done_ms`` = until ``run_tree`` returned.
- ``worker_death``: a tree of ``--tasks`` executors sleeping ``--sleep-s``; once all run,
  one worker process is killed (SIGKILL). Reports the makespan beside the same tree without
  a kill, how many tasks ran twice (``attempts`` 2) and whether every task completed.

    python benchmarks/dask_runner.py --workers 2 --tasks 20 --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


async def main(args: argparse.Namespace) -> None:
    from apflow.core.database import create_session, dispose_engines
    from apflow.core.engine import TaskManager
    from apflow.core.executor import BaseTask
    from apflow.core.registry import ExecutorRegistry
    from apflow.core.runners.dask import DaskRunner

    class Nap(BaseTask):
        """Notes its pid when it starts and the time if it is cancelled (sent by value)."""

        id = "bench_nap"

        async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
            Path(inputs["started"]).write_text(str(os.getpid()))
            try:
                await asyncio.sleep(inputs["seconds"])
            except asyncio.CancelledError:
                Path(inputs["stopped"]).write_text(repr(time.time()))
                raise
            return {"status": "completed", "result": os.getpid()}

    registry = ExecutorRegistry()
    registry.register(Nap)
    tmp = Path(tempfile.mkdtemp(prefix="apflow-dask-bench-"))
    async with DaskRunner(f"local:{args.workers}") as runner:
        session = create_session(f"sqlite+aiosqlite:///{tmp / 'bench.db'}")
        manager = TaskManager(session, registry=registry, runner=runner, max_concurrency=256)
        repo = manager.task_repository

        async def tree(tag: str, seconds: float) -> tuple[str, list[Any], list[Path]]:
            root = await repo.create_task(
                name="root",
                schemas={"method": "bench_nap"},
                inputs={
                    "seconds": 0,
                    "started": str(tmp / f"{tag}-r"),
                    "stopped": str(tmp / f"{tag}-rs"),
                },
            )
            started = [tmp / f"{tag}-started-{i}" for i in range(args.tasks)]
            tasks = [
                await repo.create_task(
                    name=f"nap{i}",
                    schemas={"method": "bench_nap"},
                    parent_id=root.id,
                    dependencies=[root.id],
                    inputs={
                        "seconds": seconds,
                        "started": str(started[i]),
                        "stopped": str(tmp / f"{tag}-stopped-{i}"),
                    },
                )
                for i in range(args.tasks)
            ]
            return root.id, tasks, started

        async def all_started(paths: list[Path]) -> None:
            while not all(p.exists() and p.read_text() for p in paths):
                await asyncio.sleep(0.005)

        # -- cancel --------------------------------------------------------------------------
        stops, returns, dones = [], [], []
        for r in range(args.repeat):
            root_id, tasks, started = await tree(f"c{r}", 60)
            run = asyncio.create_task(manager.run_tree(root_id))
            await all_started(started)
            t0 = time.time()
            await manager.cancel(root_id)
            returns.append((time.time() - t0) * 1000)
            await run
            dones.append((time.time() - t0) * 1000)
            stopped = [tmp / f"c{r}-stopped-{i}" for i in range(args.tasks)]
            deadline = time.monotonic() + 30
            while not all(p.exists() for p in stopped) and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            stops += [(float(p.read_text()) - t0) * 1000 for p in stopped if p.exists()]
            missing = sum(not p.exists() for p in stopped)
            if missing:
                print(f"warning: {missing} executors never saw the cancel", file=sys.stderr)
        print(
            json.dumps(
                {
                    "case": "cancel",
                    "workers": args.workers,
                    "tasks": args.tasks,
                    "repeat": args.repeat,
                    "stop_ms_median": round(statistics.median(stops), 1),
                    "stop_ms_max": round(max(stops), 1),
                    "return_ms_median": round(statistics.median(returns), 1),
                    "run_done_ms_median": round(statistics.median(dones), 1),
                }
            )
        )

        # -- worker death ----------------------------------------------------------------------
        async def makespan(tag: str, kill: bool) -> tuple[float, list[Any]]:
            root_id, tasks, started = await tree(tag, args.sleep_s)
            t0 = time.perf_counter()
            run = asyncio.create_task(manager.run_tree(root_id))
            await all_started(started)
            if kill:
                os.kill(int(started[0].read_text()), signal.SIGKILL)
            await run
            elapsed = time.perf_counter() - t0
            rows = [await repo.get_task_by_id(t.id) for t in tasks]
            return elapsed, rows

        base, _ = await makespan("base", kill=False)
        await runner.client.wait_for_workers(args.workers)
        killed, rows = await makespan("kill", kill=True)
        print(
            json.dumps(
                {
                    "case": "worker_death",
                    "workers": args.workers,
                    "tasks": args.tasks,
                    "sleep_s": args.sleep_s,
                    "makespan_s_no_kill": round(base, 2),
                    "makespan_s_killed": round(killed, 2),
                    "ran_twice": sum(r.attempts == 2 for r in rows),
                    "all_completed": all(r.status == "completed" for r in rows),
                }
            )
        )
        await session.close()
        await dispose_engines()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sleep-s", type=float, default=2.0)
    asyncio.run(main(parser.parse_args()))
