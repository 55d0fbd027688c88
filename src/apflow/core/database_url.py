"""Where the database is: ``--db``, else the ``database_url`` setting, else ./.apflow/apflow.db.

A SQLite file is checked here, before any connection, so a bad path is one ConfigError.
"""

from __future__ import annotations

import os
from pathlib import Path

from apflow.core.errors import ConfigError
from apflow.core.settings import settings

DEFAULT_DB_PATH = Path(".apflow") / "apflow.db"


#: What a plain path (no ``scheme://``) must end with to be taken as a SQLite file.
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".db3")
_SQLITE_HEADER = b"SQLite format 3\x00"
_DB_HINT = (
    "use a SQLite file path ending in .db (e.g. ./.apflow/apflow.db), :memory:, "
    "or a URL such as sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
)


def database_url(url: str | None = None) -> str:
    """Resolve the database URL: argument, then APFLOW_DATABASE_URL, then ./.apflow/apflow.db.

    Accepts a plain file path and sync driver URLs, and returns an async SQLAlchemy URL.
    A SQLite file is checked here (a directory, a file that cannot be created, a plain
    path without a database suffix are refused with ConfigError) because a failed
    connection makes aiosqlite's worker thread print a traceback after the error.
    """
    raw = url or settings().database_url or ""
    source = "--db" if url else "APFLOW_DATABASE_URL"
    if not raw:
        DEFAULT_DB_PATH.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{DEFAULT_DB_PATH}"
    if raw == ":memory:":
        return "sqlite+aiosqlite:///:memory:"
    if "://" not in raw:
        path = Path(raw).expanduser()
        if not path.is_dir() and not _looks_like_sqlite(path):
            raise ConfigError(
                f"{source}={raw!r} is neither a database URL nor a SQLite file path "
                f"(ending in {', '.join(SQLITE_SUFFIXES)})",
                hint=_DB_HINT,
            )
        _check_sqlite_file(path, source)
        return f"sqlite+aiosqlite:///{path}"
    scheme, rest = raw.split("://", 1)
    if scheme == "sqlite":
        scheme = "sqlite+aiosqlite"
    elif scheme in {"postgres", "postgresql"}:
        scheme = "postgresql+asyncpg"
    if scheme.startswith("sqlite"):
        path_text = rest.split("?", 1)[0]
        if path_text in {"", "/"}:
            raise ConfigError(
                f"{source}={raw!r} names no database file (SQLAlchemy would open a new, "
                "empty in-memory database for every connection)",
                hint="give a file: sqlite:///relative/path.db or sqlite:////absolute/path.db, "
                "or :memory: for a throwaway in-memory database",
            )
        if path_text != "/:memory:":
            _check_sqlite_file(Path(path_text[1:]).expanduser(), source)
    return f"{scheme}://{rest}"


def _looks_like_sqlite(path: Path) -> bool:
    """A plain path is a database when it has a database suffix or is a SQLite file already."""
    if path.suffix.lower() in SQLITE_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            return handle.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
    except OSError:
        return False


def _check_sqlite_file(path: Path, source: str) -> None:
    """Create ``path`` (and its directory) if missing; refuse what SQLite cannot open."""
    if path.is_dir():
        raise ConfigError(
            f"{source} {str(path)!r} is a directory, not a SQLite file",
            hint=f"name a file inside it, e.g. {path / 'apflow.db'}",
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_CREAT without O_TRUNC: an existing database is opened, never emptied.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o644))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.filename and str(exc.filename) != str(path):
            reason += f" ({exc.filename})"
        raise ConfigError(
            f"cannot open SQLite database {str(path)!r} from {source}: {reason}",
            hint="use a file in a directory you can write to, e.g. ./.apflow/apflow.db",
        ) from None
