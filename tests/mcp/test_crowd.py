"""Many trees at once in one server process on one SQLite file (issue 15's load test found
"database is locked" with 50 clients: writers starved in SQLite's busy handler)."""

from __future__ import annotations

import asyncio

from sqlalchemy import event

from apflow.core.database import get_engine
from apflow.service import Service
from tests.mcp.conftest import TREE


def no_busy_wait(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")  # any two writers at once now fail at once
    cursor.close()


async def test_concurrent_runs_in_one_process_never_meet_a_locked_database(db_url, registry):
    engine = get_engine(db_url)
    event.listen(engine.sync_engine, "connect", no_busy_wait)
    try:
        service = Service(db_url, registry=registry)
        outcomes = await asyncio.gather(
            *(service.run(TREE) for _ in range(30)), return_exceptions=True
        )
    finally:
        event.remove(engine.sync_engine, "connect", no_busy_wait)
    failures = [repr(o) for o in outcomes if isinstance(o, BaseException)]
    assert failures == []
    assert {o.status for o in outcomes} == {"completed"}
    assert len({o.root_id for o in outcomes}) == 30
