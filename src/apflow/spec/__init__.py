"""apflow.spec: the task-tree format, its validator, deterministic repair, storage and views."""

from apflow.spec.models import AGGREGATOR, DependencySpec, TaskParams, TaskSpec, TaskTreeSpec
from apflow.spec.parse import parse_tree
from apflow.spec.policy import ExecutorPolicy, Limits, default_policy
from apflow.spec.repair import repair_tree
from apflow.spec.report import CODES, Issue, ValidationReport
from apflow.spec.validator import validate_tree

__all__ = [
    "AGGREGATOR",
    "CODES",
    "DependencySpec",
    "ExecutorPolicy",
    "Issue",
    "Limits",
    "TaskParams",
    "TaskSpec",
    "TaskTreeSpec",
    "ValidationReport",
    "default_policy",
    "parse_tree",
    "repair_tree",
    "validate_tree",
]
