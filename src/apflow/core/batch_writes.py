"""Batched task updates: the engine's write path, one transaction per scheduling round.

Rows are grouped by the set of fields they change, so each group is one executemany.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from apflow.core.errors import ApflowError
from apflow.core.models import TaskModel, utcnow

#: The columns a run changes as tasks move through their states (written every round).
STATE_FIELDS = (
    "status",
    "result",
    "result_meta",
    "error",
    "error_type",
    "attempts",
    "started_at",
    "completed_at",
)
UPDATABLE = frozenset(
    {"name", "parent_id", "user_id", "dependencies", "priority", "schemas", "inputs", "params"}
    | set(STATE_FIELDS)
)

Groups = dict[tuple[str, ...], list[dict[str, Any]]]


def group_updates(updates: Sequence[dict[str, Any]]) -> Groups:
    """``[{"id", field: value}]`` -> rows keyed ``p_<field>``, grouped by their field set."""
    groups: Groups = {}
    now = utcnow()
    for row in updates:
        keys = tuple(sorted(k for k in row if k != "id"))
        if not UPDATABLE.issuperset(keys):
            raise ApflowError(f"cannot update task field(s) {sorted(set(keys) - UPDATABLE)}")
        params = {f"p_{k}": row[k] for k in keys}
        params["p_id"] = row["id"]
        params["p_updated_at"] = now
        groups.setdefault(keys, []).append(params)
    return groups


async def write_orm(target: AsyncConnection | AsyncSession, groups: Groups) -> None:
    """Any database: one SQLAlchemy executemany per group, then commit (or roll back)."""
    table = TaskModel.__table__
    try:
        for keys, rows in groups.items():
            values = {k: bindparam(f"p_{k}") for k in keys}
            values["updated_at"] = bindparam("p_updated_at")
            stmt = update(table).where(table.c.id == bindparam("p_id")).values(**values)
            await target.execute(stmt, rows)
        await target.commit()
    except BaseException:
        await target.rollback()
        raise


async def write_sqlite(conn: AsyncConnection, groups: Groups) -> None:
    """The engine's batch on SQLite: one executemany per group and a commit, on the driver.

    Why: through SQLAlchemy's aiosqlite adapter a batch costs four worker-thread round
    trips (cursor, executemany, close, commit); each one is a GIL hand-over that costs
    milliseconds on a busy machine. The driver's own executemany and commit are two.
    Values go through the columns' SQLAlchemy bind processors, so they are stored
    exactly as the ORM would store them.
    """
    dialect = conn.dialect
    table = TaskModel.__table__
    driver = (await conn.get_raw_connection()).driver_connection
    try:
        for keys, rows in groups.items():
            columns = [*keys, "updated_at"]
            sql = f"UPDATE {table.name} SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?"
            procs = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
            params = [
                (
                    *(
                        proc(row[f"p_{c}"]) if proc else row[f"p_{c}"]
                        for c, proc in zip(columns, procs, strict=True)
                    ),
                    row["p_id"],
                )
                for row in rows
            ]
            await driver.executemany(sql, params)
        await driver.commit()
    except BaseException:
        await asyncio.shield(driver.rollback())
        raise
