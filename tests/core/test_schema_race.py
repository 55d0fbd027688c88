"""A fresh database used by many processes at once: every one of them stores its tree.

Regression for issue 15: 5 ``apflow run`` processes on a new SQLite file failed with
"table tasks already exists" and lost their trees.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import threading

import pytest

from apflow.core.database import create_session, dispose_engines
from apflow.core.repository import TaskRepository

PROCESSES = 10

TREE = [
    {"id": "root", "schemas": {"method": "aggregate_results_executor"}, "dependencies": ["a"]},
    {"id": "a", "parent_id": "root", "schemas": {"method": "aggregate_results_executor"}},
]

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or "fork" not in multiprocessing.get_all_start_methods(),
    reason="needs fork to start the processes together quickly",
)


def _hold_first_create(barrier) -> None:
    """Make the race certain: each process waits before its first CREATE TABLE until every
    process got there, so all of them found no table and all of them try to create it."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    waited = []

    def before(_conn, _cursor, statement, *_args) -> None:
        if not waited and statement.lstrip().upper().startswith("CREATE TABLE"):
            waited.append(True)
            try:
                barrier.wait(timeout=20)
            except threading.BrokenBarrierError:  # a process got no CREATE: race anyway
                pass

    event.listen(Engine, "before_cursor_execute", before)


def _store(url: str, start, at_create, results) -> None:
    from apflow.spec import create_tree

    _hold_first_create(at_create)

    async def main() -> None:
        session = create_session(url)
        try:
            await create_tree(session, TREE)
        finally:
            await session.close()
            await dispose_engines()

    start.wait(timeout=30)
    try:
        asyncio.run(main())
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put(f"{type(exc).__name__}: {exc}")
    else:
        results.put("ok")


async def _roots(url: str) -> int:
    session = create_session(url)
    try:
        tasks = await TaskRepository(session).list_tasks(limit=10_000)
    finally:
        await session.close()
    return sum(1 for t in tasks if t.parent_id is None)


def _race(url: str) -> list[str]:
    ctx = multiprocessing.get_context("fork")
    start, at_create = ctx.Barrier(PROCESSES), ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_store, args=(url, start, at_create, results)) for _ in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return outcomes


def test_processes_creating_the_schema_at_once_all_store_their_tree(db_url, tmp_path):
    urls = [db_url]
    if db_url.startswith("sqlite"):  # cheap to repeat on fresh files
        urls += [f"sqlite+aiosqlite:///{tmp_path / f'fresh_{n}.db'}" for n in range(1)]
    for url in urls:
        outcomes = _race(url)
        failures = [o for o in outcomes if o != "ok"]
        assert not failures, failures
        assert asyncio.run(_roots(url)) == PROCESSES
        asyncio.run(dispose_engines())
