"""create_tree: one transaction, ids remapped, spec ids kept, and the engine runs the result."""

from __future__ import annotations

import uuid

import pytest

from apflow import TaskManager, TaskRepository, create_session
from apflow.core.errors import DuplicateTaskId, ValidationFailed
from apflow.spec import create_tree, parse_tree

from .conftest import good_tree, task


@pytest.fixture
async def session(db_url):
    s = create_session(db_url)
    yield s
    await s.close()


async def test_tasks_are_stored_with_new_ids_and_remapped_links(session):
    node = await create_tree(session, good_tree(), user_id="alice")
    tasks = {t.spec_id: t for t in node.tasks()}
    assert set(tasks) == {"root", "fetch", "process"}
    root, fetch, process = tasks["root"], tasks["fetch"], tasks["process"]
    assert node.task is root and [c.task.spec_id for c in node.children] == ["fetch", "process"]
    assert uuid.UUID(root.id) and root.id != "root"
    assert fetch.parent_id == root.id and root.parent_id is None
    assert root.dependencies == [
        {"id": fetch.id, "required": True},
        {"id": process.id, "required": True},
    ]
    assert process.params == {"spec_id": "process"}
    assert process.inputs == {"prompt": "Summarise ${fetch.result.body}"}
    assert {t.user_id for t in tasks.values()} == {"alice"}
    stored = await TaskRepository(session).get_tree(root.id)
    assert {t.spec_id for t in stored} == {"root", "fetch", "process"}


async def test_stored_tree_runs_and_references_resolve_by_spec_id(session, registry):
    node = await create_tree(session, good_tree())
    await TaskManager(session, registry=registry).distribute_task_tree(node)
    stored = {t.spec_id: t for t in await TaskRepository(session).get_tree(node.task.id)}
    assert {t.status for t in stored.values()} == {"completed"}
    assert stored["process"].result == {"text": "Summarise page at https://example.com"}
    assert set(stored["root"].result) == {"fetch", "process"}


async def test_params_priority_and_optional_dependencies_survive(session):
    tree = good_tree()
    tree[1]["params"] = {"timeout": 3, "retries": 2}
    tree[1]["priority"] = 0
    tree[0]["dependencies"][1] = {"id": "process", "required": False}
    node = await create_tree(session, parse_tree(tree))
    tasks = {t.spec_id: t for t in node.tasks()}
    assert tasks["fetch"].params == {"timeout": 3.0, "retries": 2, "spec_id": "fetch"}
    assert tasks["fetch"].priority == 0
    assert tasks["root"].dependencies[1]["required"] is False


async def test_a_structurally_broken_tree_is_refused_and_nothing_is_stored(session):
    tree = good_tree()
    tree[1]["dependencies"] = ["process"]  # cycle fetch <-> process
    with pytest.raises(ValidationFailed) as info:
        await create_tree(session, tree)
    assert "dependency_cycle" in info.value.report.codes()
    assert await TaskRepository(session).list_tasks() == []
    with pytest.raises(ValidationFailed):
        await create_tree(session, [task("a"), task("b")])


async def test_insert_is_all_or_nothing(db_url, monkeypatch):
    first_session = create_session(db_url)
    first = await create_tree(first_session, [task("solo", inputs={"url": "u"})])
    await first_session.close()
    ids = iter([str(uuid.uuid4()), str(uuid.uuid4()), first.task.id])  # third id clashes
    monkeypatch.setattr("apflow.spec.storage.new_id", lambda: next(ids))
    second = create_session(db_url)
    with pytest.raises(DuplicateTaskId):
        await create_tree(second, good_tree())
    await second.close()
    check = create_session(db_url)
    remaining = await TaskRepository(check).list_tasks()
    await check.close()
    assert [t.id for t in remaining] == [first.task.id]


async def test_inputs_too_deep_to_store_are_refused(session):
    inner: dict = {}
    cursor = inner
    for _ in range(400):
        cursor["a"] = {}
        cursor = cursor["a"]
    with pytest.raises(ValidationFailed) as info:
        await create_tree(session, [task("solo", inputs=inner)])
    assert info.value.report.codes() == ["input_too_large"]
