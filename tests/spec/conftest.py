"""Isolated registries and tree builders for the spec tests."""

from __future__ import annotations

from typing import Any

import pytest

from apflow.core.executor import BaseTask, completed
from apflow.core.registry import ExecutorRegistry
from apflow.executors.aggregate import AggregateResultsExecutor


class FetchExecutor(BaseTask):
    id = "fetch_executor"
    description = "Fetch a URL (test double: echoes its inputs)."
    input_schema = {"type": "object", "properties": {"url": {"type": "string"}}}

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return completed({"body": f"page at {inputs.get('url', '?')}"})


class LlmExecutor(BaseTask):
    id = "llm_executor"
    description = "Answer a prompt (test double: echoes it)."
    input_schema = {"type": "object", "properties": {"prompt": {"type": "string"}}}

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return completed({"text": str(inputs.get("prompt", ""))})


class HttpGetExecutor(BaseTask):
    id = "http_get_executor"
    description = "Strict inputs: a required url and an enum method."
    input_schema = {
        "type": "object",
        "properties": {
            "url": {"type": "string", "description": "the address to fetch"},
            "method": {"type": "string", "enum": ["GET", "HEAD"]},
            "retries": {"type": "integer", "minimum": 0},
            "headers": {
                "type": "object",
                "properties": {"accept": {"type": "string"}},
                "required": ["accept"],
            },
        },
        "required": ["url"],
        "additionalProperties": False,
    }

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return completed({"status": 200})


class CommandExecutor(BaseTask):
    id = "command_executor"
    description = "Runs a shell command (never run in these tests)."
    input_schema = {"type": "object", "properties": {"command": {"type": "string"}}}


@pytest.fixture
def registry() -> ExecutorRegistry:
    reg = ExecutorRegistry()
    for cls in (AggregateResultsExecutor, FetchExecutor, LlmExecutor, HttpGetExecutor):
        reg.register(cls)
    reg.register(CommandExecutor)
    return reg


def task(tid: str, method: str = "fetch_executor", **fields: Any) -> dict[str, Any]:
    return {"id": tid, "schemas": {"method": method}, **fields}


def good_tree() -> list[dict[str, Any]]:
    """The guide's aggregator-root example, with inputs."""
    return [
        task(
            "root", "aggregate_results_executor", dependencies=[{"id": "fetch"}, {"id": "process"}]
        ),
        task("fetch", parent_id="root", inputs={"url": "https://example.com"}),
        task(
            "process",
            "llm_executor",
            parent_id="root",
            dependencies=[{"id": "fetch"}],
            inputs={"prompt": "Summarise ${fetch.result.body}"},
        ),
    ]
