"""apflow for applications: generate, validate, store and run, cancel, resume, read, list.

:class:`Service` is the one place trees are stored and run; the CLI, the MCP server,
``generate_executor`` and the evals all use it, and so can a web UI::

    service = Service("runs.db")
    view = await service.run(tasks, wait=False)     # stored; runs in the background
    page = await service.list_trees(status="completed", limit=20)
    tree = await service.get_tree(view.root_id)     # statuses, results
    await service.cancel(view.root_id)

Results are pydantic models (:mod:`apflow.service.views`), JSON-ready.

Public names load on first use (see :mod:`apflow.core.lazy`): loading the ``generate``
executor's entry point does not import storage or the engine.
"""

from typing import TYPE_CHECKING

from apflow.core.lazy import lazy_exports

if TYPE_CHECKING:
    from apflow.service.tasks import create_task, run_tasks
    from apflow.service.trees import Service, StoredListener
    from apflow.service.views import (
        CancelResult,
        ExecutorList,
        ExecutorView,
        GenerateView,
        IssueView,
        TaskView,
        TreePage,
        TreeSummary,
        TreeView,
        ValidationView,
    )

_EXPORTS = {
    "apflow.service.tasks": ["create_task", "run_tasks"],
    "apflow.service.trees": ["Service", "StoredListener"],
    "apflow.service.views": [
        "CancelResult",
        "ExecutorList",
        "ExecutorView",
        "GenerateView",
        "IssueView",
        "TaskView",
        "TreePage",
        "TreeSummary",
        "TreeView",
        "ValidationView",
    ],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "CancelResult",
    "ExecutorList",
    "ExecutorView",
    "GenerateView",
    "IssueView",
    "Service",
    "StoredListener",
    "TaskView",
    "TreePage",
    "TreeSummary",
    "TreeView",
    "ValidationView",
    "create_task",
    "run_tasks",
]
