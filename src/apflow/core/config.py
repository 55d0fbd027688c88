"""Settings read from the environment, in one place.

Read at call time (not import time) so tests and the CLI can change them.
"""

from __future__ import annotations

import os
from pathlib import Path

from apflow.core.errors import ConfigError

DEFAULT_DB_PATH = Path(".apflow") / "apflow.db"


def _number(name: str, default: float, *, minimum: float = 0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a number", hint=f"set {name} to e.g. {default}"
        ) from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be >= {minimum}")
    return value


def default_task_timeout() -> float:
    """Seconds a task may run when its params give no ``timeout`` (APFLOW_TASK_TIMEOUT)."""
    return _number("APFLOW_TASK_TIMEOUT", 300.0, minimum=0.001)


def default_max_concurrency() -> int:
    """Tasks running at once in one tree (APFLOW_MAX_CONCURRENCY)."""
    return int(_number("APFLOW_MAX_CONCURRENCY", 32, minimum=1))


def megabytes(name: str, default: int, off: str) -> int:
    """A size in MB from the environment, as bytes; ``0`` means ``off`` (said in the hint)."""
    raw = os.environ.get(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(
            f"{name}={raw!r} is not a size in MB",
            hint=f"unset it ({default} MB), or 0 to {off}",
        )
    return value << 20


def flag(name: str) -> bool:
    """True when the environment variable is set to 1/true/yes/on."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def database_url(url: str | None = None) -> str:
    """Resolve the database URL: argument, then APFLOW_DATABASE_URL, then ./.apflow/apflow.db.

    Accepts a plain file path and sync driver URLs, and returns an async SQLAlchemy URL.
    """
    raw = url or os.environ.get("APFLOW_DATABASE_URL") or ""
    if not raw:
        DEFAULT_DB_PATH.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{DEFAULT_DB_PATH}"
    if raw == ":memory:":
        return "sqlite+aiosqlite:///:memory:"
    if "://" not in raw:
        path = Path(raw).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{path}"
    scheme, rest = raw.split("://", 1)
    if scheme == "sqlite":
        scheme = "sqlite+aiosqlite"
    elif scheme in {"postgres", "postgresql"}:
        scheme = "postgresql+asyncpg"
    if scheme.startswith("sqlite") and rest.startswith("/") and rest not in {"/", "/:memory:"}:
        Path(rest[1:]).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return f"{scheme}://{rest}"
