"""Console benchmark: how fast is the trees list with 10,000 stored trees?

Stores ``--trees`` trees of ``--tasks`` tasks each (an aggregator root over the rest; roots
70% completed, 20% failed, 10% cancelled; ten user ids), serves the real console on
127.0.0.1 and times ``GET /api/trees`` over HTTP (httpx, one request at a time):

  first      the first page (50 trees, with status counts), repeated ``--repeat`` times
  walk       every page of 200, following ``next`` to the oldest tree
  status     the first page filtered by status=failed
  user       the first page filtered by one user id

Prints ONE JSON line: trees, tasks, rows, store_s, and per request kind the median and
the slowest latency in milliseconds.

    python benchmarks/ui_trees.py --trees 10000 --tasks 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from ui_server import Console  # noqa: E402

from apflow.core import TaskRepository, create_session  # noqa: E402
from apflow.core.models import new_id  # noqa: E402

STATUSES = ["completed"] * 7 + ["failed"] * 2 + ["cancelled"]


async def store(db: str, trees: int, tasks: int) -> None:
    session = create_session(db)
    repo = TaskRepository(session)
    try:
        for start in range(0, trees, 200):
            rows, states = [], []
            for t in range(start, min(trees, start + 200)):
                root = new_id()
                kids = [new_id() for _ in range(tasks - 1)]
                user = f"user{t % 10}"
                rows.append(
                    {
                        "id": root,
                        "name": f"tree {t}",
                        "user_id": user,
                        "schemas": {"method": "aggregate_results_executor"},
                        "dependencies": kids,
                    }
                )
                rows += [
                    {"id": k, "name": f"step {i}", "parent_id": root, "user_id": user}
                    for i, k in enumerate(kids)
                ]
                status = STATUSES[t % len(STATUSES)]
                states.append({"id": root, "status": status})
                states += [
                    {"id": k, "status": "failed" if status == "failed" and i == 0 else status}
                    for i, k in enumerate(kids)
                ]
            await repo.create_tasks(rows)
            await repo.apply_updates(states)
            await session.commit()
    finally:
        await session.close()


def timed(client: httpx.Client, url: str, **params: str) -> tuple[float, dict]:
    t0 = time.perf_counter()
    resp = client.get(url, params=params)
    spent = (time.perf_counter() - t0) * 1000
    resp.raise_for_status()
    return spent, resp.json()


def summary(times: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", type=int, default=10000)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite+aiosqlite:///{Path(tmp) / 'trees.db'}"
        t0 = time.perf_counter()
        asyncio.run(store(db, args.trees, args.tasks))
        store_s = time.perf_counter() - t0
        out: dict = {
            "trees": args.trees,
            "tasks": args.tasks,
            "rows": args.trees * args.tasks,
            "store_s": round(store_s, 1),
        }
        with Console(db) as console, httpx.Client(timeout=60) as client:
            url = console.url + "/api/trees"
            timed(client, url)  # warm-up: schema check, connections
            first = [timed(client, url, limit="50")[0] for _ in range(args.repeat)]
            walk, seen, after = [], 0, None
            while True:
                params = {"limit": "200", **({"after": after} if after else {})}
                spent, page = timed(client, url, **params)
                walk.append(spent)
                seen += len(page["trees"])
                after = page["next"]
                if after is None:
                    break
            assert seen == args.trees, (seen, args.trees)
            status = [timed(client, url, status="failed")[0] for _ in range(args.repeat)]
            user = [timed(client, url, user="user3")[0] for _ in range(args.repeat)]
        out.update(
            first=summary(first),
            walk={**summary(walk), "pages": len(walk)},
            status=summary(status),
            user=summary(user),
        )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
