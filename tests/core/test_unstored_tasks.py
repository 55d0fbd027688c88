"""Tasks made with ``create_task`` and never stored run through ``distribute_task_tree``
(issue 23, item 1: the guide's Orchestration §3 as written)."""

from __future__ import annotations

import pytest

import apflow
import apflow.service
from apflow import TaskTreeNode, create_task
from apflow.core.errors import DuplicateTaskId, TaskTreeError
from apflow.core.new_task import create_task as core_create_task
from tests.core.conftest import snapshot, stored


async def test_made_tasks_run_on_a_fresh_database_and_are_stored(manager, repo):
    root_task = create_task(name="root", executor="echo")
    task1 = create_task(name="fetch_data_1", executor="echo")
    task2 = create_task(name="fetch_data_2", executor="echo")
    task3 = create_task(name="fetch_data_3", executor="echo")

    root = TaskTreeNode(root_task)
    root.add_child(TaskTreeNode(task1))
    root.add_child(TaskTreeNode(task2))
    root.add_child(TaskTreeNode(task3))
    assert await manager.distribute_task_tree(root) is root

    for task in (root_task, task1, task2, task3):
        row = await stored(repo, task.id)
        assert row.status == "completed", (row.name, row.error)
    assert {t.id for t in await repo.get_children(root_task.id)} == {task1.id, task2.id, task3.id}


async def test_stored_and_made_tasks_mix_in_one_tree(manager, repo, recorder):
    fetch = await repo.create_task(name="fetch", executor="echo", inputs={"value": 1})
    process = create_task(name="process", executor="echo", dependencies=[fetch])
    root = TaskTreeNode(fetch)
    root.add_child(TaskTreeNode(process))
    await manager.distribute_task_tree(root)
    row = await stored(repo, process.id)
    assert row.status == "completed" and row.parent_id == fetch.id
    assert recorder.names() == ["fetch", "process"]


async def test_a_tree_that_fails_its_checks_stores_nothing(manager, session):
    root = TaskTreeNode(create_task(name="root", executor="echo"))
    root.add_child(TaskTreeNode(create_task(name="lost", executor="echo", dependencies=["nope"])))
    with pytest.raises(TaskTreeError) as err:
        await manager.distribute_task_tree(root)
    assert "depends on missing task nope" in str(err.value)
    assert "listed above" not in str(err.value)
    assert await snapshot(session) == []


async def test_a_made_task_with_a_stored_id_is_refused(manager, repo, session):
    await repo.create_task(name="first", executor="echo", id="orders-fetch")
    before = await snapshot(session)
    with pytest.raises(DuplicateTaskId) as err:
        await manager.distribute_task_tree(
            TaskTreeNode(create_task(name="again", executor="echo", id="orders-fetch"))
        )
    assert "'orders-fetch' already exists" in str(err.value) and err.value.hint
    assert await snapshot(session) == before


async def test_one_create_task_builds_every_task():
    # apflow.create_task, apflow.core and apflow.service name the same function, and the
    # repository's create_task builds with it too (then stores).
    assert apflow.create_task is core_create_task is apflow.service.create_task
    assert apflow.core.create_task is core_create_task
    task = create_task(name="fetch_data", dependencies=["a", {"id": "b", "required": False}])
    assert task.executor_id == "fetch_data" and task.status == "pending" and task.priority == 2
    assert task.dependencies == [{"id": "a", "required": True}, {"id": "b", "required": False}]
    with pytest.raises(apflow.ApflowError):
        create_task(name="x", priority=9)
