"""apflow.spec: the task-tree format, its validator, deterministic repair, storage and views."""

from apflow.spec.models import AGGREGATOR, DependencySpec, TaskParams, TaskSpec, TaskTreeSpec
from apflow.spec.parse import parse_tree
from apflow.spec.policy import ExecutorPolicy, Limits, default_policy
from apflow.spec.repair import repair_tree
from apflow.spec.report import Issue, IssueCode, ValidationReport
from apflow.spec.storage import create_tree
from apflow.spec.validator import structural_report, validate_tree
from apflow.spec.views import render_tree

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
