"""Task runners: where a ready task's executor runs (this process, or a Dask cluster).

``DaskRunner`` is loaded on first use, so ``import apflow`` never imports Dask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apflow.core.runners.base import (
    Attempt,
    ExecutorRunner,
    TaskSnapshot,
    execute_attempt,
    invoke_executor,
)
from apflow.core.runners.local import LocalRunner
from apflow.core.settings import settings

if TYPE_CHECKING:
    from apflow.core.runners.dask import DaskRunner


def runner_for(cluster: str | None = None) -> ExecutorRunner:
    """The runner for ``cluster`` (an address or ``local:N``), else APFLOW_DASK_ADDRESS.

    Neither given: the in-process LocalRunner.
    """
    address = cluster or settings().dask_address
    if not address:
        return LocalRunner()
    from apflow.core.runners.dask import DaskRunner
    from apflow.core.runners.dask_cluster import import_distributed

    import_distributed()  # without the extra: one line naming it, before anything runs
    return DaskRunner(address)


def __getattr__(name: str) -> Any:
    if name == "DaskRunner":
        from apflow.core.runners.dask import DaskRunner

        return DaskRunner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DaskRunner",
    "Attempt",
    "ExecutorRunner",
    "LocalRunner",
    "TaskSnapshot",
    "execute_attempt",
    "invoke_executor",
    "runner_for",
]
