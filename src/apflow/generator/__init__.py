"""apflow.generator: plain-English requirement -> validated aggregator-root task tree."""

from apflow.generator.api import generate_tree, generate_tree_sync
from apflow.generator.result import (
    Attempt,
    GenerationEvent,
    GenerationMode,
    GenerationResult,
    GenerationStats,
)

__all__ = [
    "Attempt",
    "GenerationEvent",
    "GenerationMode",
    "GenerationResult",
    "GenerationStats",
    "generate_tree",
    "generate_tree_sync",
]
