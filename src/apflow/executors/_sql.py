"""What sql_executor needs besides the executor: named connections, reading a statement,
and the cached engines.

A tree never holds a database URL: it names a connection, and the operator configures the
names in the environment (``APFLOW_SQL_<NAME>=<url>``, ``APFLOW_SQL_<NAME>_WRITE=1``). So a
model-written tree can reach only the databases the operator listed, and writes only where
the operator said so.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apflow.core.errors import ConfigError
from apflow.core.executor import Effect
from apflow.core.settings import SQL_PREFIX as PREFIX
from apflow.core.settings import sql_connections

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

DEFAULT_NAME = "default"
#: The quick-start database: a scratch SQLite file apflow creates in the working directory.
DEFAULT_PATH = Path(".apflow") / "data.db"
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,62}$"
_NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class SqlConnection:
    """A named connection: where it points and whether statements may write."""

    name: str
    url: str
    writable: bool
    source: str  # the variable that configured it, or "built-in" for the quick-start file

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def write_variable(self) -> str:
        return f"{PREFIX}{self.name.upper()}_WRITE"


def _async_url(raw: str, variable: str) -> str:
    """``sqlite://`` and ``postgres://`` spelled with their async drivers; others unchanged."""
    scheme, sep, rest = raw.partition("://")
    if not sep:
        raise ConfigError(
            f"{variable}={raw!r} is not a database URL",
            hint=f"set {variable} to e.g. sqlite+aiosqlite:///path/to/file.db "
            "or postgresql+asyncpg://user@host/db",
        )
    scheme = {
        "sqlite": "sqlite+aiosqlite",
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
    }.get(scheme, scheme)
    return f"{scheme}://{rest}"


def connections() -> dict[str, SqlConnection]:
    """Every configured connection by (lower-case) name, ``default`` included.

    Read at call time. ``APFLOW_SQL_DEFAULT`` replaces the quick-start file; like every
    configured connection it is then read-only unless ``APFLOW_SQL_DEFAULT_WRITE=1``.
    """
    found = {
        DEFAULT_NAME: SqlConnection(
            DEFAULT_NAME, f"sqlite+aiosqlite:///{DEFAULT_PATH}", True, "built-in"
        )
    }
    for name, (raw, writes, variable) in sql_connections().items():
        if _NAME.match(name):
            found[name] = SqlConnection(name, _async_url(raw, variable), writes, variable)
    return found


def connection(name: str) -> SqlConnection:
    """The connection called ``name`` (any case); ConfigError listing the known names."""
    known = connections()
    found = known.get(name.lower())
    if found is None:
        raise ConfigError(
            f"unknown SQL connection {name!r}; configured: {', '.join(sorted(known))}",
            hint=f"add one with {PREFIX}{name.upper()}=<sqlalchemy url> "
            f"(and {PREFIX}{name.upper()}_WRITE=1 to allow writes)",
        )
    return found


def sqlite_path(conn: SqlConnection) -> Path | None:
    """The database file of a SQLite connection (None for ``:memory:``)."""
    from sqlalchemy.engine import make_url

    database = make_url(conn.url).database
    return None if not database or database == ":memory:" else Path(database).expanduser()


# -- reading a statement ---------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    |(?P<quoted>'(?:[^']|'')*'?|"(?:[^"]|"")*"?|`[^`]*`?)
    |(?P<dollar>\$(?P<tag>[A-Za-z_]\w*)?\$.*?(?:\$(?P=tag)\$|\Z))
    |(?P<word>[A-Za-z_][\w$]*)
    |(?P<other>.)""",
    re.S | re.X,
)
#: Words that change data wherever they stand (a PostgreSQL WITH may hold a DELETE).
_WRITE_WORDS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "UPSERT"})
_EXPLAIN_OPTIONS = frozenset({"QUERY", "PLAN", "VERBOSE", "ANALYZE", "ANALYSE"})


def tokens(statement: str) -> list[str]:
    """The statement's words (upper-case) and symbols; comments, strings, spaces dropped."""
    out = []
    for match in _TOKEN.finditer(statement):
        kind = match.lastgroup
        if kind == "word":
            out.append(match.group().upper())
        elif kind in ("other", "quoted", "dollar"):
            out.append(match.group() if kind == "other" else "'")
    return out


def statement_problem(statement: str) -> str | None:
    """Why ``statement`` is not exactly one statement (empty, or more than one), or None."""
    toks = tokens(statement)
    while toks and toks[-1] == ";":
        toks.pop()
    if not toks:
        return "the statement is empty"
    if ";" in toks:
        return "give one statement: ';' separates statements, and only one may run per task"
    return None


def statement_effect(statement: Any) -> Effect:
    """READ for SELECT, WITH ... SELECT, VALUES and EXPLAIN (of a read, or without
    ANALYZE); WRITE for anything else, and for a statement built from ``${...}``."""
    if not isinstance(statement, str) or "${" in statement:
        return Effect.WRITE
    toks = [t for t in tokens(statement) if t != "("]
    if not toks:
        return Effect.WRITE
    if toks[0] == "EXPLAIN":
        rest = toks[1:]
        analyze = False
        while rest and (rest[0] in _EXPLAIN_OPTIONS or rest[0] in (",", ")")):
            analyze = analyze or rest[0].startswith("ANALY")
            rest = rest[1:]
        return statement_effect(" ".join(rest)) if analyze else Effect.READ
    if toks[0] not in ("SELECT", "WITH", "VALUES"):
        return Effect.WRITE
    full = tokens(statement)
    for i, tok in enumerate(full):
        called = i + 1 < len(full) and full[i + 1] == "("  # replace(...) is a function
        if (tok in _WRITE_WORDS and not called) or tok == "INTO":  # SELECT ... INTO t
            return Effect.WRITE
    return Effect.READ


# -- SQLite guard ----------------------------------------------------------------------

#: PRAGMAs that only describe the schema; every other PRAGMA with an argument sets
#: something (``query_only = 0`` would lift the read-only guard) and is refused.
_DESCRIBING_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "foreign_key_check",
        "integrity_check",
        "quick_check",
    }
)


def sqlite_authorizer(action: int, arg1: Any, arg2: Any, _db: Any, _trigger: Any) -> int:
    """Refuse what reaches beyond the configured file or lifts the guard: ATTACH/DETACH
    (VACUUM INTO attaches too) and PRAGMAs that set something."""
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and arg2 is not None:
        if str(arg1).lower() not in _DESCRIBING_PRAGMAS:
            return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


# -- engines ---------------------------------------------------------------------------

_engines: dict[tuple[str, int], AsyncEngine] = {}
_engine_loops: dict[tuple[str, int], weakref.ref[asyncio.AbstractEventLoop]] = {}


def engine_for(conn: SqlConnection) -> AsyncEngine:
    """The cached engine of ``conn``: one per URL for SQLite (no pool: a file connection
    is cheap and belongs to no event loop), one per URL and event loop for a server."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    sqlite = conn.is_sqlite
    loop_key = 0 if sqlite else id(asyncio.get_running_loop())
    key = (conn.url, loop_key)
    engine = _engines.get(key)
    if engine is not None:
        return engine
    _forget_engines_of_finished_loops()
    try:
        if sqlite:
            engine = create_async_engine(conn.url, poolclass=NullPool)
        else:
            engine = create_async_engine(conn.url, pool_pre_ping=True, pool_size=2)
    except (ArgumentError, ImportError, ValueError) as exc:
        raise ConfigError(
            f"{conn.source}: cannot use database URL "
            f"{make_url(conn.url).render_as_string(hide_password=True)!r}: {exc}",
            hint="use an async SQLAlchemy URL such as sqlite+aiosqlite:///path.db "
            "or postgresql+asyncpg://user@host/db",
        ) from None
    if not sqlite:
        _engine_loops[key] = weakref.ref(asyncio.get_running_loop())
    _engines[key] = engine
    return engine


def _forget_engines_of_finished_loops() -> None:
    from apflow.core.database import forget_engines_of_finished_loops  # loads sqlalchemy

    forget_engines_of_finished_loops(_engines, _engine_loops)


async def dispose_engines() -> None:
    """Close every cached engine: those of the running loop properly, the others by
    letting their pools go. Call it when a long-lived process is done with SQL."""
    try:
        current = asyncio.get_running_loop()
    except RuntimeError:
        current = None
    for key in list(_engines):
        engine = _engines.pop(key)
        ref = _engine_loops.pop(key, None)
        if ref is None or ref() is current:
            await engine.dispose()
        else:
            engine.sync_engine.dispose(close=False)
