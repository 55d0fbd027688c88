"""Database engines and sessions.

SQLite (a file, nothing to start) is the default; any SQLAlchemy async URL works.
The schema is created on first use and stamped with a version row.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import weakref
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool, StaticPool

from apflow.core.database_url import database_url
from apflow.core.errors import ConfigError, StorageError
from apflow.core.models import SCHEMA_VERSION, Base, MetaModel

_engines: dict[tuple[str, int], AsyncEngine] = {}
#: The event loop each server engine's pooled connections belong to.
_engine_loops: dict[tuple[str, int], weakref.ref[asyncio.AbstractEventLoop]] = {}


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinite floats replaced by None (as JSON.stringify does)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def json_dumps(value: Any) -> str:
    """The JSON columns' serializer on every database: strict JSON.

    Why: Python writes NaN and Infinity, which are not JSON; SQLite stores them and gives
    them back, PostgreSQL refuses the row (and with it a whole batch of task states). Both
    now store null for them, like JSON.stringify.
    """
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False)


_ready: weakref.WeakSet[AsyncEngine] = weakref.WeakSet()
_ready_locks: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()
#: Attempts at creating the schema when other processes create it at the same moment.
_SCHEMA_ATTEMPTS = 5


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - driver callback
    cursor = dbapi_connection.cursor()
    # busy_timeout first: switching a new file to WAL takes a lock that another process may hold.
    cursor.execute("PRAGMA busy_timeout=10000")
    # WAL + NORMAL survives a process crash (not a power cut) and lets readers run during writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def get_engine(url: str | None = None) -> AsyncEngine:
    """Return the (cached) async engine for ``url`` (resolved by :func:`database_url`).

    Engines are cached per event loop because pooled async connections belong to one loop.
    """
    resolved = database_url(url)
    try:
        loop_key = id(asyncio.get_running_loop())
    except RuntimeError:
        loop_key = 0
    key = (resolved, loop_key if not resolved.startswith("sqlite") else 0)
    engine = _engines.get(key)
    if engine is None:
        _forget_engines_of_finished_loops()
        try:
            if resolved.startswith("sqlite") and ":memory:" in resolved:
                engine = create_async_engine(
                    resolved, poolclass=StaticPool, json_serializer=json_dumps
                )
            elif resolved.startswith("sqlite"):
                engine = create_async_engine(
                    resolved, poolclass=NullPool, json_serializer=json_dumps
                )
            else:
                engine = create_async_engine(
                    resolved, pool_pre_ping=True, json_serializer=json_dumps
                )
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise ConfigError(
                f"cannot use database URL {resolved!r}: {exc}",
                hint="use an async SQLAlchemy URL such as sqlite+aiosqlite:///path.db "
                "or postgresql+asyncpg://... (pip install 'apflow[postgres]')",
            ) from exc
        if resolved.startswith("sqlite"):
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        elif loop_key:
            _engine_loops[key] = weakref.ref(asyncio.get_running_loop())
        _engines[key] = engine
    return engine


def _forget_engines_of_finished_loops() -> None:
    forget_engines_of_finished_loops(_engines, _engine_loops)


def forget_engines_of_finished_loops(
    engines: dict[Any, AsyncEngine], loops: dict[Any, weakref.ref[asyncio.AbstractEventLoop]]
) -> None:
    """Drop cached server engines whose event loop has closed (each ``asyncio.run`` makes one).

    Why: pooled connections belong to one loop; an engine cached for a loop that is gone
    would keep its server connections open until the process exits. Their loop cannot close
    them any more, so the pool is let go and the sockets close when collected. Shared by
    every per-loop engine cache (task storage here, ``sql_executor``'s connections).
    """
    for key, ref in list(loops.items()):
        loop = ref()
        if loop is None or loop.is_closed():
            del loops[key]
            engine = engines.pop(key, None)
            if engine is not None:
                engine.sync_engine.dispose(close=False)


async def ensure_schema(engine: AsyncEngine) -> None:
    """Create the tables once per engine and check the stored schema version."""
    if engine in _ready:
        return
    lock = _ready_locks.setdefault(engine, asyncio.Lock())
    async with lock:
        if engine in _ready:
            return
        for attempt in range(_SCHEMA_ATTEMPTS):
            try:
                await _create_schema(engine)
                break
            except SQLAlchemyError as exc:
                if attempt + 1 < _SCHEMA_ATTEMPTS and _lost_race(exc):
                    await asyncio.sleep(0.05 * (attempt + 1))
                    continue  # another process created it meanwhile: the next pass sees it
                raise ConfigError(
                    f"cannot open database {engine.url.render_as_string(hide_password=True)}: "
                    f"{error_line(exc)}",
                    hint="check --db / APFLOW_DATABASE_URL and that the database is reachable",
                ) from exc
        _ready.add(engine)


async def _create_schema(engine: AsyncEngine) -> None:
    """CREATE TABLE/INDEX where missing (checkfirst) and the version row, in one transaction."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, checkfirst=True)
        row = (
            await conn.execute(select(MetaModel.value).where(MetaModel.key == "schema_version"))
        ).scalar_one_or_none()
        if row is None:
            await conn.execute(
                MetaModel.__table__.insert().values(key="schema_version", value=str(SCHEMA_VERSION))
            )
        elif int(row) > SCHEMA_VERSION:
            raise ConfigError(
                f"database schema version {row} is newer than this apflow ({SCHEMA_VERSION})",
                hint="upgrade apflow or point APFLOW_DATABASE_URL at another database",
            )


def error_line(exc: BaseException) -> str:
    """A database error as one line: the driver's message, without SQLAlchemy's SQL text,
    parameters and "Background on this error" link (which may hold a whole tree's inputs)."""
    orig = getattr(exc, "orig", None) if isinstance(exc, DBAPIError) else None
    source = orig if orig is not None else exc
    text = " ".join(str(source).split()) or type(source).__name__
    return f"{type(source).__name__}: {text}"


def _lost_race(exc: SQLAlchemyError) -> bool:
    """True when creating the schema failed because another process was creating it too:
    a table, index or the version row that already exists (SQLite, PostgreSQL), or a lock."""
    if not isinstance(exc, DBAPIError):
        return False
    text = str(exc.orig).lower()
    return any(
        word in text for word in ("already exists", "duplicate", "unique", "database is locked")
    )


_write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def write_lock(bind: Any) -> contextlib.AbstractAsyncContextManager[Any]:
    """Held around every write transaction on a SQLite database: one writer at a time per
    database and event loop, in the order they asked.

    Why: SQLite lets one connection write at a time; the others wait in its busy handler,
    which polls (up to every 100 ms) instead of queueing. Fifty trees running at once in one
    server starved some writers past the 10 s busy timeout ("database is locked"). Writers of
    one process now queue here, fairly, and SQLite's busy handler only arbitrates between
    processes. Other databases handle concurrent writers themselves (no lock).
    """
    url = getattr(bind, "url", None)
    if url is None or not str(url).startswith("sqlite"):
        return contextlib.nullcontext()
    loop = asyncio.get_running_loop()
    locks = _write_locks.setdefault(loop, {})
    return locks.setdefault(str(url), asyncio.Lock())


def create_session(url: str | None = None) -> AsyncSession:
    """Return a new async session on the default database (or ``url``).

    The schema is created on first use by :class:`~apflow.core.repository.TaskRepository`.
    ``expire_on_commit`` is off so task objects stay readable after each commit.
    """
    engine = get_engine(url)
    return async_sessionmaker(engine, expire_on_commit=False)()


async def dispose_engines() -> None:
    """Close every cached engine (tests and the CLI call this on exit)."""
    for engine in list(_engines.values()):
        await engine.dispose()
    _engines.clear()
    _engine_loops.clear()


def storage_error(exc: SQLAlchemyError) -> StorageError:
    """A database error as an ApflowError with a hint: a missing table, a duplicate key or
    another constraint the database refused, or any other storage failure."""
    text = error_line(exc)
    low = text.lower()
    if "no such table" in low or "does not exist" in low or "undefinedtable" in low:
        return StorageError(
            f"the database has no apflow tables ({text})",
            hint="open it with apflow.create_session(url) and a TaskRepository or TaskManager, "
            "which create the tables on first use; if they were dropped, restart the process",
        )
    if "foreign key" in low:
        return StorageError(
            f"the database refused a reference between rows ({text})",
            hint="a foreign key outside apflow's schema refused the write; store the row it "
            "points at first, or drop that constraint",
        )
    if "unique" in low or "duplicate" in low or "primary key" in low:
        return StorageError(
            f"a row with this key is already stored ({text})",
            hint="use a new task id (or none: a fresh one is made), or resume the stored tree",
        )
    return StorageError(
        f"the database failed: {text}",
        hint="check --db / APFLOW_DATABASE_URL and that the database is reachable and writable",
    )
