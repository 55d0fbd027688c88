"""apflow.generator: plain-English requirement -> validated aggregator-root task tree.

Public names load on first use (see :mod:`apflow.core.lazy`): ``apflow.generator.result``
alone does not load the prompts or the model layer.
"""

from typing import TYPE_CHECKING

from apflow.core.lazy import lazy_exports

if TYPE_CHECKING:
    from apflow.generator.api import generate_tree, generate_tree_sync
    from apflow.generator.result import (
        Attempt,
        GenerationEvent,
        GenerationMode,
        GenerationResult,
        GenerationStats,
    )

_EXPORTS = {
    "apflow.generator.api": ["generate_tree", "generate_tree_sync"],
    "apflow.generator.result": [
        "Attempt",
        "GenerationEvent",
        "GenerationMode",
        "GenerationResult",
        "GenerationStats",
    ],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "Attempt",
    "GenerationEvent",
    "GenerationMode",
    "GenerationResult",
    "GenerationStats",
    "generate_tree",
    "generate_tree_sync",
]
