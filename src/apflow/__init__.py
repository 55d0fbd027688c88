"""apflow: describe a workflow in plain English, get a validated task tree, run it."""

from apflow.core import (
    TERMINAL_STATES,
    BaseTask,
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
    default_registry,
    executor_register,
    failed,
    get_executor,
    get_hook_repository,
    list_executors,
    register_post_hook,
    register_pre_hook,
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
from apflow.core.runners import ExecutorRunner, LocalRunner

__version__ = "0.1.0"

# Higher layers load on first use, so `import apflow` stays cheap for engine-only users.
_LAZY = {
    "DaskRunner": "apflow.core.runners",  # imports Dask only when used
    "generate_tree": "apflow.generator",
    "generate_tree_sync": "apflow.generator",
    "validate_tree": "apflow.spec",
    "repair_tree": "apflow.spec",
    "create_tree": "apflow.spec",
    "render_tree": "apflow.spec",
    "create_task": "apflow.service",
    "run_tasks": "apflow.service",
    "Service": "apflow.service",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'apflow' has no attribute {name!r}")


__all__ = [
    "ApflowError",
    "BaseTask",
    "ConfigError",
    "DaskRunner",
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
    "validate_tree",
]
