"""Deprecated: settings moved to :mod:`apflow.core.settings` (one object for every
``APFLOW_*`` variable) and the database URL to :mod:`apflow.core.database_url`.

The old functions keep working for one release, each with a ``DeprecationWarning`` naming
its replacement (CHANGELOG.md).
"""

from __future__ import annotations

import warnings
from typing import Any

_MOVED = {
    "default_task_timeout": ("settings().task_timeout", lambda s: s.task_timeout),
    "default_max_concurrency": ("settings().max_concurrency", lambda s: s.max_concurrency),
    "max_requirement_chars": (
        "settings().max_requirement_chars",
        lambda s: s.max_requirement_chars,
    ),
    "generation_budget": ("settings().generation_timeout", lambda s: s.generation_timeout),
}


def __getattr__(name: str) -> Any:
    if name == "database_url":
        from apflow.core.database_url import database_url

        _warn(name, "apflow.core.database_url.database_url")
        return database_url
    if name in _MOVED:
        replacement, read = _MOVED[name]
        _warn(name, f"apflow.core.settings.{replacement}")

        def value() -> Any:
            from apflow.core.settings import settings

            return read(settings())

        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _warn(name: str, replacement: str) -> None:
    warnings.warn(
        f"apflow.core.config.{name} is deprecated; use {replacement}",
        DeprecationWarning,
        stacklevel=3,
    )
