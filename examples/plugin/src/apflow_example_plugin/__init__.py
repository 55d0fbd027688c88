"""An example apflow plugin: a word counter registered through the entry-point group."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from apflow.core.executor import BaseTask, completed

_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")


class WordCountExecutor(BaseTask):
    id = "word_count_executor"
    name = "Word count"
    description = "Count the words, lines and characters of a text and list its most common words."
    input_schema = {
        "type": "object",
        "required": ["text"],
        "properties": {
            "text": {"type": "string", "description": "the text to count"},
            "top": {
                "type": "integer",
                "minimum": 0,
                "maximum": 100,
                "default": 5,
                "description": "how many of the most common words to list",
            },
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "words": {"type": "integer"},
            "lines": {"type": "integer"},
            "characters": {"type": "integer"},
            "top_words": {"type": "array", "items": {"type": "array"}},
        },
    }

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        invalid = self.validate_inputs(inputs)
        if invalid:
            return invalid
        text = inputs["text"]
        words = [w.lower() for w in _WORD.findall(text)]
        common = Counter(words).most_common(inputs.get("top", 5))
        return completed(
            {
                "words": len(words),
                "lines": len(text.splitlines()),
                "characters": len(text),
                "top_words": [list(pair) for pair in common],
            }
        )
