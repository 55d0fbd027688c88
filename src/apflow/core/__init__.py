"""The core: storage, registry, hooks, event bus and engine. Imports nothing above it.

Public names load on first use (see :mod:`apflow.core.lazy`): ``import apflow.core.errors``
or ``apflow.core.references`` does not import SQLAlchemy or the engine.
"""

from typing import TYPE_CHECKING

from apflow.core.lazy import lazy_exports

if TYPE_CHECKING:
    from apflow.core.bus import EventBus, EventKind, current_bus, use_bus
    from apflow.core.database import create_session, get_engine
    from apflow.core.engine import TaskManager
    from apflow.core.executor import BaseTask, ExecutableTask, TaskContext, completed, failed
    from apflow.core.hooks import get_hook_repository, register_post_hook, register_pre_hook
    from apflow.core.models import TaskModel
    from apflow.core.new_task import create_task
    from apflow.core.registry import (
        ExecutorRegistry,
        default_registry,
        executor_register,
        get_executor,
        list_executors,
    )
    from apflow.core.repository import TaskRepository
    from apflow.core.states import TERMINAL_STATES, TaskStatus
    from apflow.core.tree import TaskTreeNode

#: ``{module: [name, ...]}``; the top-level ``apflow`` package serves these too.
_EXPORTS = {
    "apflow.core.bus": ["EventBus", "EventKind", "current_bus", "use_bus"],
    "apflow.core.database": ["create_session", "get_engine"],
    "apflow.core.engine": ["TaskManager"],
    "apflow.core.executor": ["BaseTask", "ExecutableTask", "TaskContext", "completed", "failed"],
    "apflow.core.hooks": ["get_hook_repository", "register_post_hook", "register_pre_hook"],
    "apflow.core.models": ["TaskModel"],
    "apflow.core.new_task": ["create_task"],
    "apflow.core.registry": [
        "ExecutorRegistry",
        "default_registry",
        "executor_register",
        "get_executor",
        "list_executors",
    ],
    "apflow.core.repository": ["TaskRepository"],
    "apflow.core.states": ["TERMINAL_STATES", "TaskStatus"],
    "apflow.core.tree": ["TaskTreeNode"],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "BaseTask",
    "EventBus",
    "EventKind",
    "ExecutableTask",
    "ExecutorRegistry",
    "TERMINAL_STATES",
    "TaskContext",
    "TaskManager",
    "TaskModel",
    "TaskRepository",
    "TaskStatus",
    "TaskTreeNode",
    "completed",
    "create_session",
    "create_task",
    "current_bus",
    "default_registry",
    "executor_register",
    "failed",
    "get_engine",
    "get_executor",
    "get_hook_repository",
    "list_executors",
    "register_post_hook",
    "register_pre_hook",
    "use_bus",
]
