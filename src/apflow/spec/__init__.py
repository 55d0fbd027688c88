"""apflow.spec: the task-tree format, its validator, deterministic repair, storage and views.

Public names load on first use (see :mod:`apflow.core.lazy`): validating a tree does not
import storage (SQLAlchemy) or the views.
"""

from typing import TYPE_CHECKING

from apflow.core.lazy import lazy_exports

if TYPE_CHECKING:
    from apflow.spec.models import AGGREGATOR, DependencySpec, TaskParams, TaskSpec, TaskTreeSpec
    from apflow.spec.parse import parse_tree
    from apflow.spec.policy import ExecutorPolicy, Limits, default_policy
    from apflow.spec.repair import repair_tree
    from apflow.spec.report import Issue, IssueCode, ValidationReport
    from apflow.spec.storage import create_tree
    from apflow.spec.validator import structural_report, validate_tree
    from apflow.spec.views import render_tree

_EXPORTS = {
    "apflow.spec.models": [
        "AGGREGATOR",
        "DependencySpec",
        "TaskParams",
        "TaskSpec",
        "TaskTreeSpec",
    ],
    "apflow.spec.parse": ["parse_tree"],
    "apflow.spec.policy": ["ExecutorPolicy", "Limits", "default_policy"],
    "apflow.spec.repair": ["repair_tree"],
    "apflow.spec.report": ["Issue", "IssueCode", "ValidationReport"],
    "apflow.spec.storage": ["create_tree"],
    "apflow.spec.validator": ["structural_report", "validate_tree"],
    "apflow.spec.views": ["render_tree"],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "AGGREGATOR",
    "DependencySpec",
    "ExecutorPolicy",
    "Issue",
    "IssueCode",
    "Limits",
    "TaskParams",
    "TaskSpec",
    "TaskTreeSpec",
    "ValidationReport",
    "create_tree",
    "default_policy",
    "parse_tree",
    "render_tree",
    "repair_tree",
    "structural_report",
    "validate_tree",
]
