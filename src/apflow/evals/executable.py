"""Is a generated tree executable? Store it and run it through the real engine.

The tree is stored in a temporary SQLite database and run by :class:`apflow.service.Service`
with the case's simulated executors, which check
their (reference-resolved) inputs against the tool's schema and answer with a value shaped
by its output schema. Executable = every task ends ``completed``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apflow.core.registry import ExecutorRegistry

RUN_TIMEOUT_SECONDS = 30.0


@dataclass
class ExecutionCheck:
    executable: bool
    detail: str = ""


class ExecutabilityChecker:
    """Runs trees one at a time on one SQLite file (one run = one database)."""

    def __init__(self, directory: str | Path) -> None:
        self.url = f"sqlite+aiosqlite:///{Path(directory) / 'eval-runs.db'}"
        self._lock = asyncio.Lock()  # SQLite has one writer; trees are tiny, so queue them

    async def check(self, tree: Any, registry: ExecutorRegistry) -> ExecutionCheck:
        """Run ``tree`` (a valid spec) to the end; never raises for a bad tree."""
        from apflow.service import Service

        service = Service(self.url, registry=registry, default_timeout=10.0)
        async with self._lock:
            try:
                run = service.store_and_run(tree)
                tasks = await asyncio.wait_for(run, timeout=RUN_TIMEOUT_SECONDS)
            except TimeoutError:
                return ExecutionCheck(False, f"did not finish in {RUN_TIMEOUT_SECONDS:.0f} s")
            except Exception as exc:  # any refusal or crash means: not executable
                return ExecutionCheck(False, f"{type(exc).__name__}: {exc}"[:300])
        unfinished = [t for t in tasks if t.status != "completed"]
        if not unfinished:
            return ExecutionCheck(True)
        # The task that failed explains more than the dependents it took down with it.
        first = min(
            unfinished,
            key=lambda t: (t.status != "failed", t.error_type == "dependency_failed"),
        )
        name = (first.params or {}).get("spec_id") or first.id
        detail = f"{len(unfinished)} of {len(tasks)} tasks not completed; {name}: {first.status}"
        if first.error:
            detail += f" ({first.error_type}: {first.error})"
        return ExecutionCheck(False, detail[:300])

    async def close(self) -> None:
        from apflow.core.database import get_engine

        await get_engine(self.url).dispose()
