"""Plain values of a stored task that other layers share without importing SQLAlchemy.

Why a module of its own: the tree format (:mod:`apflow.spec`) and ``apflow validate`` need the
priority range, the length limits and the dependency short form, and loading the ORM model
for them doubled the command's start time. :mod:`apflow.core.models` re-exports every name.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    """Naive UTC timestamps: SQLite keeps no zone, and naive values subtract cleanly."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_id() -> str:
    return str(uuid.uuid4())


#: Longest stored task name, user id and task id (VARCHAR columns; PostgreSQL enforces them).
MAX_NAME = 255
MAX_USER_ID = 255
MAX_ID = 64
MAX_ERROR_TYPE = 128
#: Task priorities: 0 = most urgent .. 3 = low; 2 is normal. The one statement of the range.
MIN_PRIORITY, MAX_PRIORITY, DEFAULT_PRIORITY = 0, 3, 2


def expand_bare_ids(dependencies: Any) -> Any:
    """``"a"`` or ``["a", {...}]`` -> ``[{"id": "a", "required": True}, {...}]``.

    The one place the short form is expanded (storage, the spec model and the generator
    use it); anything else is returned as it is, for the caller's own check to refuse.
    """
    if dependencies is None:
        return []
    if isinstance(dependencies, (str, dict)):
        dependencies = [dependencies]
    if isinstance(dependencies, list):
        return [{"id": d, "required": True} if isinstance(d, str) else d for d in dependencies]
    return dependencies
