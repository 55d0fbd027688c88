"""Map a slightly misspelt executor id to the registered one, only when unambiguous."""

from __future__ import annotations

from collections.abc import Iterable


def _key(executor_id: str) -> str:
    key = executor_id.strip().lower()
    for char in "-_ .":
        key = key.replace(char, "")
    return key.removesuffix("executor")


def snap_executor(executor_id: str, registered: Iterable[str]) -> str | None:
    """The single registered id equal to ``executor_id`` up to case, '_', '-', spaces and an
    ``_executor`` suffix; None when there is no such id or more than one."""
    ids = list(registered)
    if executor_id in ids:
        return None
    wanted = _key(executor_id)
    if not wanted:
        return None
    matches = [i for i in ids if _key(i) == wanted]
    return matches[0] if len(matches) == 1 else None
