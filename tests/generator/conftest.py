"""Fixtures for generator tests: an isolated registry with a few small executors."""

from __future__ import annotations

import pytest

# -- an isolated registry with a few small executors --------------------------------------
from apflow.core.executor import BaseTask, completed
from apflow.core.registry import ExecutorRegistry
from apflow.executors.aggregate import AggregateResultsExecutor
from tests.fake_openai import fake_openai  # noqa: F401  (fixture)


class FetchPage(BaseTask):
    id = "fetch_page"
    description = "Download a web page and return its text."
    input_schema = {
        "type": "object",
        "required": ["url"],
        "properties": {"url": {"type": "string", "description": "page URL"}},
    }
    output_schema = {"type": "object", "properties": {"text": {"type": "string"}}}

    async def execute(self, inputs):
        return completed({"text": f"page at {inputs['url']}"})


class SummariseText(BaseTask):
    id = "summarise_text"
    description = "Summarise a text with a language model."
    input_schema = {
        "type": "object",
        "required": ["text"],
        "properties": {
            "text": {"type": "string", "description": "text to summarise"},
            "max_words": {"type": "integer", "minimum": 1, "description": "summary length"},
        },
    }

    async def execute(self, inputs):
        return completed(" ".join(str(inputs["text"]).split()[: inputs.get("max_words", 5)]))


class CommandExecutor(BaseTask):
    id = "command_executor"
    description = "Run a program on this machine."
    input_schema = {
        "type": "object",
        "required": ["argv"],
        "properties": {"argv": {"type": "array", "items": {"type": "string"}}},
    }

    async def execute(self, inputs):
        return completed("ran")


@pytest.fixture
def registry() -> ExecutorRegistry:
    reg = ExecutorRegistry()
    for cls in (AggregateResultsExecutor, FetchPage, SummariseText, CommandExecutor):
        reg.register(cls)
    return reg
