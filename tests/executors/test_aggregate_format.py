"""aggregate_results_executor's format option (dict, list, text), through the engine."""

from __future__ import annotations

import pytest

from apflow import TaskManager, TaskTreeNode, create_session
from apflow.executors.aggregate import AggregateResultsExecutor


async def run_tree(fmt: str | None):
    session = create_session()
    manager = TaskManager(session)
    repo = manager.task_repository
    inputs = {"format": fmt} if fmt else {}
    root = await repo.create_task(
        name="root",
        schemas={"method": "aggregate_results_executor"},
        params={"spec_id": "root"},
        inputs=inputs,
    )
    specs = [
        ("first", {"data": {"n": 1}}),
        ("second", {"data": [2, 3]}),
        ("broken", {"data": {}, "operations": [{"op": "pick", "path": "missing"}]}),
    ]
    children = [
        await repo.create_task(
            name=key,
            parent_id=root.id,
            schemas={"method": "transform_executor"},
            params={"spec_id": key},
            inputs=child_inputs,
        )
        for key, child_inputs in specs
    ]
    await repo.update_task(
        root.id,
        dependencies=[{"id": c.id, "required": c.name != "broken"} for c in children],
    )
    node = TaskTreeNode(await repo.get_task_by_id(root.id))
    for child in children:
        node.add_child(TaskTreeNode(child))
    await manager.distribute_task_tree(node)
    stored = await repo.get_task_by_id(root.id)
    await session.close()
    assert stored.status == "completed", stored.error
    assert stored.result_meta["summary"] == {
        "completed": 2,
        "failed": 1,
        "skipped": 0,
        "cancelled": 0,
    }
    assert "missing" in stored.result_meta["errors"]["broken"]
    return stored.result


async def test_default_format_is_a_dict_of_completed_results():
    assert await run_tree(None) == {"first": {"n": 1}, "second": [2, 3]}


async def test_list_format_keeps_dependency_order():
    assert await run_tree("list") == [{"n": 1}, [2, 3]]


async def test_text_format_has_one_line_per_task_with_errors():
    text = await run_tree("text")
    lines = text.splitlines()
    assert lines[:2] == ["first: completed", "second: completed"]
    assert lines[2].startswith("broken: failed - ") and "missing" in lines[2]


@pytest.mark.parametrize("fmt", ["table", 3])
async def test_unknown_format_is_a_validation_error(fmt):
    out = await AggregateResultsExecutor().execute({"format": fmt})
    assert out["status"] == "failed" and out["error_type"] == "validation_error"


async def test_a_dependency_named_format_is_a_result_not_the_format_option():
    session = create_session()
    manager = TaskManager(session)
    repo = manager.task_repository
    root = await repo.create_task(
        name="root", schemas={"method": "aggregate_results_executor"}, params={"spec_id": "root"}
    )
    child = await repo.create_task(
        name="format",
        parent_id=root.id,
        schemas={"method": "transform_executor"},
        params={"spec_id": "format"},
        inputs={"data": {"text": "hello"}},
    )
    await repo.update_task(root.id, dependencies=[child.id])
    node = TaskTreeNode(await repo.get_task_by_id(root.id))
    node.add_child(TaskTreeNode(child))
    await manager.distribute_task_tree(node)
    stored = await repo.get_task_by_id(root.id)
    await session.close()
    assert stored.status == "completed", stored.error
    assert stored.result == {"format": {"text": "hello"}}
