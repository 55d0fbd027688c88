"""Built-in executors, one domain per module.

They register like any plugin: the ``apflow.executors`` entry point ``builtin`` names
:func:`register_builtins`, which the registry calls on its first lookup. Importing
this package registers nothing. (``generate_executor`` builds and runs trees, so it lives
in :mod:`apflow.service` and has an entry point of its own, ``generate``.)
"""

from __future__ import annotations

from apflow.core.executor import BaseTask
from apflow.core.registry import ExecutorRegistry
from apflow.executors.aggregate import AggregateResultsExecutor
from apflow.executors.command import CommandExecutor
from apflow.executors.http import RestExecutor
from apflow.executors.llm import LlmExecutor
from apflow.executors.mcp_tool import McpToolExecutor
from apflow.executors.scrape import ScrapeExecutor
from apflow.executors.sql import SqlExecutor
from apflow.executors.system import SystemInfoExecutor
from apflow.executors.transform import TransformExecutor

BUILTINS: tuple[type[BaseTask], ...] = (
    AggregateResultsExecutor,
    CommandExecutor,
    LlmExecutor,
    McpToolExecutor,
    RestExecutor,
    ScrapeExecutor,
    SqlExecutor,
    SystemInfoExecutor,
    TransformExecutor,
)


def register_builtins(registry: ExecutorRegistry) -> None:
    """Register every built-in executor in ``registry`` (the ``builtin`` entry point)."""
    for cls in BUILTINS:
        registry.register(cls)


__all__ = ["BUILTINS", "register_builtins", *(cls.__name__ for cls in BUILTINS)]
