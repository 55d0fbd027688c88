"""Inputs are checked against ``get_input_schema()`` before ``execute`` on the engine path
(issue 23, item 5), with the validator ``validate_tree`` uses."""

from __future__ import annotations

from typing import Any

from apflow import BaseTask, TaskTreeNode, create_task, validate_tree
from apflow.core import input_schema
from apflow.spec import content

from .conftest import stored


class MyCustomExecutor(BaseTask):
    """The guide's schema example."""

    id = "my_custom_executor"
    calls = 0

    def get_input_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "url": {"type": "string", "description": "API endpoint", "pattern": "^https?://"},
                "method": {"type": "string", "enum": ["GET", "POST"], "default": "GET"},
            },
            "required": ["url"],
        }

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        type(self).calls += 1
        return {"status": "completed", "result": inputs["url"]}


async def test_a_refused_input_fails_the_task_before_execute(manager, repo, registry):
    registry.register(MyCustomExecutor)
    MyCustomExecutor.calls = 0
    bad = create_task(name="call", executor="my_custom_executor", inputs={"url": "ftp://x"})
    await manager.distribute_task_tree(TaskTreeNode(bad))
    row = await stored(repo, bad.id)
    assert (row.status, row.error_type) == ("failed", "invalid_inputs")
    assert "'ftp://x' does not match '^https?://'" in row.error and "url" in row.error
    assert MyCustomExecutor.calls == 0


async def test_inputs_are_checked_after_references_resolve(manager, repo, registry):
    registry.register(MyCustomExecutor)
    MyCustomExecutor.calls = 0
    source = await repo.create_task(name="source", executor="echo", inputs={"value": "ftp://y"})
    call = await repo.create_task(
        name="call",
        executor="my_custom_executor",
        parent_id=source.id,
        dependencies=[source.id],
        inputs={"url": f"${{{source.id}.result}}"},
    )
    await manager.run_tree(source.id)
    row = await stored(repo, call.id)
    assert row.error_type == "invalid_inputs" and "'ftp://y'" in row.error
    assert MyCustomExecutor.calls == 0


async def test_valid_inputs_run(manager, repo, registry):
    registry.register(MyCustomExecutor)
    ok = create_task(name="call", executor="my_custom_executor", inputs={"url": "https://x"})
    await manager.distribute_task_tree(TaskTreeNode(ok))
    assert (await stored(repo, ok.id)).status == "completed"


def test_validate_tree_refuses_the_same_input_with_the_same_validator(registry):
    registry.register(MyCustomExecutor)
    report = validate_tree(
        [{"id": "a", "schemas": {"method": "my_custom_executor"}, "inputs": {"url": "ftp://x"}}],
        registry,
    )
    assert report.codes() == ["invalid_inputs"]
    assert content._validator is input_schema.validator  # one rule, one place
