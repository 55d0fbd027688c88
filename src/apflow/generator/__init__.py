"""apflow.generator: plain-English requirement -> validated aggregator-root task tree."""

from apflow.generator.api import MODES, generate_tree, generate_tree_sync
from apflow.generator.result import Attempt, GenerationEvent, GenerationResult, GenerationStats

__all__ = [
    "MODES",
    "Attempt",
    "GenerationEvent",
    "GenerationResult",
    "GenerationStats",
    "generate_tree",
    "generate_tree_sync",
]
