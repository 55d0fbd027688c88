"""TaskRepository: creation, reads, the one-query tree load, guarded updates."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from apflow.core.database import create_session
from apflow.core.errors import ApflowError, InvalidTransition, TaskNotFound
from apflow.core.repository import TaskRepository

from .conftest import snapshot


@pytest.fixture
async def repo(session):
    return TaskRepository(session)


async def test_create_task_defaults_and_round_trip(repo, session, db_url):
    task = await repo.create_task(
        name="fetch",
        user_id="u1",
        dependencies=["x", {"id": "y", "required": False}],
        inputs={"a": [1, {"b": None}]},
        schemas={"method": "echo"},
        params={"timeout": 5},
    )
    other = create_session(db_url)  # a different session sees the committed row
    try:
        row = await TaskRepository(other).get_task_by_id(task.id)
    finally:
        await other.close()
    assert row.to_dict() | {"updated_at": None} == task.to_dict() | {"updated_at": None}
    assert row.status == "pending" and row.priority == 2 and row.attempts == 0
    assert row.dependencies == [{"id": "x", "required": True}, {"id": "y", "required": False}]
    assert row.executor_id == "echo" and row.spec_id == task.id
    assert len(task.id) == 36


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"name": ""}, "name"),
        ({"name": "x", "priority": 7}, "priority"),
        ({"name": "x", "priority": True}, "priority"),
        ({"name": "x", "inputs": [1]}, "inputs"),
        ({"name": "x", "dependencies": [3]}, "dependency"),
    ],
)
async def test_bad_fields_are_refused(repo, fields, match):
    with pytest.raises(ApflowError, match=match):
        await repo.create_task(**fields)


async def test_create_tasks_is_all_or_nothing(repo, session):
    await repo.create_task(name="existing", id="dup")
    before = await snapshot(session)
    with pytest.raises(Exception):  # noqa: B017 - the driver's IntegrityError
        await repo.create_tasks([{"name": "new1"}, {"name": "new2", "id": "dup"}])
    assert await snapshot(session) == before
    made = await repo.create_tasks([{"name": f"n{i}"} for i in range(3)])
    assert [t.name for t in made] == ["n0", "n1", "n2"]
    assert len(await snapshot(session)) == len(before) + 3


async def test_get_tree_is_one_query(repo, session):
    root = await repo.create_task(name="root")
    level1 = [await repo.create_task(name=f"a{i}", parent_id=root.id) for i in range(3)]
    level2 = [await repo.create_task(name=f"b{i}", parent_id=level1[i % 3].id) for i in range(4)]
    deep = await repo.create_task(name="deep", parent_id=level2[0].id)
    await repo.create_task(name="unrelated")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = session.bind.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        tree = await repo.get_tree(root.id)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    assert "RECURSIVE" in statements[0].upper()
    assert tree[0].id == root.id
    assert {t.id for t in tree} == {root.id, deep.id, *(t.id for t in level1 + level2)}


async def test_get_tree_of_unknown_root_is_empty(repo):
    assert await repo.get_tree("missing") == []


async def test_reads_by_status_children_ids_and_listing(repo):
    root = await repo.create_task(name="root", user_id="alice")
    kids = [await repo.create_task(name=f"k{i}", parent_id=root.id) for i in range(3)]
    await repo.create_task(name="bob's", user_id="bob")
    await repo.update_task(kids[0].id, status="in_progress")
    assert [t.id for t in await repo.get_tasks_by_status("in_progress")] == [kids[0].id]
    assert len(await repo.get_tasks_by_status("pending")) == 4
    assert len(await repo.get_tasks_by_status("pending", limit=2)) == 2
    assert [t.id for t in await repo.get_children(root.id)] == [k.id for k in kids]
    found = await repo.get_tasks_by_ids([kids[1].id, "nope", root.id])
    assert {t.id for t in found} == {kids[1].id, root.id}
    assert await repo.get_tasks_by_ids([]) == []
    assert [t.name for t in await repo.list_tasks(user_id="alice")] == ["root"]
    roots = await repo.list_tasks(roots_only=True)
    assert {t.name for t in roots} == {"root", "bob's"}
    assert len(await repo.list_tasks(limit=2)) == 2
    assert await repo.get_task_by_id("nope") is None
    with pytest.raises(TaskNotFound):
        await repo.require_task("nope")


async def test_update_task_checks_status_transitions(repo, session):
    task = await repo.create_task(name="t")
    with pytest.raises(InvalidTransition, match="pending -> completed"):
        await repo.update_task(task.id, status="completed")
    await repo.update_task(task.id, status="in_progress")
    done = await repo.update_task(task.id, status="completed", result={"ok": True})
    assert done.status == "completed"
    before = await snapshot(session)
    with pytest.raises(InvalidTransition, match="completed -> in_progress"):
        await repo.update_task(task.id, status="in_progress")
    with pytest.raises(InvalidTransition):
        await repo.update_task(task.id, status="pending")
    assert await snapshot(session) == before


async def test_transition_check_uses_the_stored_status_not_a_stale_copy(repo, db_url):
    task = await repo.create_task(name="t")
    other = create_session(db_url)
    try:
        other_repo = TaskRepository(other)
        await other_repo.update_task(task.id, status="in_progress")
        await other_repo.update_task(task.id, status="completed")
    finally:
        await other.close()
    assert task.status == "pending"  # our in-memory copy is stale
    with pytest.raises(InvalidTransition, match="completed -> in_progress"):
        await repo.update_task(task.id, status="in_progress")


async def test_update_task_rejects_unknown_fields_and_bad_values(repo):
    task = await repo.create_task(name="t")
    with pytest.raises(ApflowError, match="colour"):
        await repo.update_task(task.id, colour="red")
    with pytest.raises(ApflowError, match="priority"):
        await repo.update_task(task.id, priority=9)
    with pytest.raises(TaskNotFound):
        await repo.update_task("missing", priority=1)
    updated = await repo.update_task(task.id, priority=0, dependencies=["a"])
    assert updated.priority == 0 and updated.dependencies == [{"id": "a", "required": True}]
    assert updated.updated_at >= updated.created_at


async def test_apply_updates_writes_a_batch_in_one_transaction(repo, session):
    a = await repo.create_task(name="a")
    b = await repo.create_task(name="b")
    await repo.apply_updates(
        [{"id": a.id, "status": "in_progress"}, {"id": b.id, "priority": 0, "inputs": {"x": 1}}]
    )
    rows = {r["id"]: r for r in await snapshot(session)}
    assert rows[a.id]["status"] == "in_progress"
    assert (rows[b.id]["priority"], rows[b.id]["inputs"]) == (0, {"x": 1})
    await repo.apply_updates([])


async def test_default_database_comes_from_the_environment(monkeypatch, tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("APFLOW_DATABASE_URL", url)
    session = create_session()
    try:
        await TaskRepository(session).create_task(name="t")
    finally:
        await session.close()
    assert (tmp_path / "env.db").exists()


async def test_the_engines_writer_stores_values_exactly_like_the_orm_path(repo, session):
    from datetime import datetime

    a = await repo.create_task(name="a")
    b = await repo.create_task(name="b")
    fields = {
        "status": "in_progress",
        "result": {"nested": [1, "two", None, {"x": 1.5}]},
        "result_meta": None,
        "inputs": {"k": "v"},
        "error": "oops",
        "attempts": 3,
        "started_at": datetime(2026, 1, 2, 3, 4, 5),  # no microseconds: a formatting edge
        "completed_at": datetime(2026, 1, 2, 3, 4, 5, 123456),
    }
    await repo.apply_updates([{"id": a.id, **fields}])  # through the session
    async with repo.dedicated_writer():
        await repo.apply_updates([{"id": b.id, **fields}])  # through the pinned connection
    rows = {r["id"]: r for r in await snapshot(session)}

    def comparable(row):
        return {k: v for k, v in row.items() if k not in {"id", "name", "updated_at", "created_at"}}

    assert comparable(rows[a.id]) == comparable(rows[b.id])
    raw = (
        await session.execute(
            text("SELECT id, result, started_at, completed_at FROM tasks WHERE id IN (:a, :b)"),
            {"a": a.id, "b": b.id},
        )
    ).all()
    stored_raw = {r[0]: r[1:] for r in raw}
    assert stored_raw[a.id] == stored_raw[b.id]  # byte-identical JSON and timestamps
    assert rows[b.id]["result"] == fields["result"]
    assert rows[b.id]["started_at"] == fields["started_at"]
    reloaded = await repo.get_task_by_id(b.id)
    assert reloaded.completed_at == fields["completed_at"] and reloaded.attempts == 3


async def test_apply_updates_refuses_unknown_fields(repo):
    task = await repo.create_task(name="t")
    with pytest.raises(ApflowError, match="colour"):
        await repo.apply_updates([{"id": task.id, "colour": "red"}])
    async with repo.dedicated_writer():
        with pytest.raises(ApflowError, match="id; DROP"):
            await repo.apply_updates([{"id": task.id, "id; DROP": 1}])
