"""apflow: describe a workflow in plain English, get a validated task tree, run it.

Every public name loads on first use (PEP 562): ``import apflow`` is cheap, and
``from apflow import TaskManager`` imports the engine (and SQLAlchemy) only then.
"""

from typing import TYPE_CHECKING

from apflow.core import _EXPORTS as _CORE_EXPORTS
from apflow.core.lazy import lazy_exports

__version__ = "0.1.0"

if TYPE_CHECKING:
    from apflow.core import (
        TERMINAL_STATES,
        BaseTask,
        EventBus,
        EventKind,
        ExecutableTask,
        ExecutorRegistry,
        TaskContext,
        TaskManager,
        TaskModel,
        TaskRepository,
        TaskStatus,
        TaskTreeNode,
        completed,
        create_session,
        create_task,
        current_bus,
        default_registry,
        executor_register,
        failed,
        get_executor,
        get_hook_repository,
        list_executors,
        register_post_hook,
        register_pre_hook,
        use_bus,
    )
    from apflow.core.errors import (
        ApflowError,
        ConfigError,
        ExecutorNotFound,
        ExecutorRegistrationError,
        GenerationError,
        LLMError,
        TaskNotFound,
        TaskTreeError,
        ValidationFailed,
    )
    from apflow.core.runners import DaskRunner, ExecutorRunner, LocalRunner
    from apflow.generator import generate_tree, generate_tree_sync
    from apflow.service import Service, run_tasks
    from apflow.spec import create_tree, render_tree, repair_tree, validate_tree

_EXPORTS = {
    # the core's public names, except its database plumbing (get_engine stays in apflow.core)
    **{module: [n for n in names if n != "get_engine"] for module, names in _CORE_EXPORTS.items()},
    "apflow.core.errors": [
        "ApflowError",
        "ConfigError",
        "ExecutorNotFound",
        "ExecutorRegistrationError",
        "GenerationError",
        "LLMError",
        "TaskNotFound",
        "TaskTreeError",
        "ValidationFailed",
    ],
    "apflow.core.runners": ["DaskRunner", "ExecutorRunner", "LocalRunner"],  # Dask: on use only
    "apflow.generator": ["generate_tree", "generate_tree_sync"],
    "apflow.spec": ["validate_tree", "repair_tree", "create_tree", "render_tree"],
    "apflow.service": ["run_tasks", "Service"],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "ApflowError",
    "BaseTask",
    "ConfigError",
    "DaskRunner",
    "EventBus",
    "EventKind",
    "ExecutableTask",
    "ExecutorNotFound",
    "ExecutorRegistrationError",
    "ExecutorRegistry",
    "ExecutorRunner",
    "GenerationError",
    "LLMError",
    "LocalRunner",
    "Service",
    "TERMINAL_STATES",
    "TaskContext",
    "TaskManager",
    "TaskModel",
    "TaskNotFound",
    "TaskRepository",
    "TaskStatus",
    "TaskTreeError",
    "TaskTreeNode",
    "ValidationFailed",
    "__version__",
    "completed",
    "create_session",
    "create_task",
    "create_tree",
    "current_bus",
    "default_registry",
    "executor_register",
    "failed",
    "generate_tree",
    "generate_tree_sync",
    "get_executor",
    "get_hook_repository",
    "list_executors",
    "register_post_hook",
    "register_pre_hook",
    "render_tree",
    "repair_tree",
    "run_tasks",
    "use_bus",
    "validate_tree",
]
