"""What an executor or a caller can hand the store behaves the same on SQLite and PostgreSQL.

.ci/run runs this file twice: on SQLite files, and on a real PostgreSQL server (a database
per test). Each case here once stored on SQLite and failed, or crashed the run, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from apflow.core.errors import ApflowError
from apflow.core.executor import BaseTask
from apflow.core.tree import TaskTreeNode


def _executor(ident: str, outcome: dict[str, Any]) -> type[BaseTask]:
    class Fixed(BaseTask):
        id = ident
        description = "returns a fixed outcome"

        async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
            return dict(outcome)

    return Fixed


async def _run_one(manager, repo, registry, outcome: dict[str, Any]):
    registry.register(_executor("fixed", outcome))
    task = await repo.create_task(name="one", schemas={"method": "fixed"})
    await manager.distribute_task_tree(TaskTreeNode(task))
    return await repo.get_task_by_id(task.id)


async def test_a_long_error_type_is_stored_cut_to_the_column(manager, repo, registry):
    task = await _run_one(
        manager, repo, registry, {"status": "failed", "error": "x", "error_type": "e" * 500}
    )
    assert task.status == "failed"
    assert task.error_type.startswith("eee") and len(task.error_type) <= 128


async def test_nul_characters_in_an_error_are_stored(manager, repo, registry):
    task = await _run_one(
        manager, repo, registry, {"status": "failed", "error": "bad\x00byte", "error_type": "a"}
    )
    assert task.status == "failed"
    assert task.error.startswith("bad") and task.error.endswith("byte")


async def test_nan_and_infinity_in_a_result_are_stored_as_null(manager, repo, registry):
    result = {"a": math.nan, "b": [-math.inf, 1.5], "c": {"d": math.inf}}
    task = await _run_one(manager, repo, registry, {"status": "completed", "result": result})
    assert task.status == "completed"
    assert task.result == {"a": None, "b": [None, 1.5], "c": {"d": None}}


async def test_engines_of_finished_event_loops_are_let_go(db_url):
    """Each asyncio.run gets its own engine; one whose loop has closed is not kept."""
    from apflow import TaskRepository, create_session
    from apflow.core import database

    def one_run() -> None:
        async def go() -> None:
            session = create_session(db_url)
            await TaskRepository(session).create_task(name="t")
            await session.close()

        asyncio.run(go())

    await asyncio.to_thread(one_run)
    await asyncio.to_thread(one_run)
    await asyncio.to_thread(one_run)
    stale = [
        key
        for key, ref in database._engine_loops.items()
        if key[0] == db_url and (ref() is None or ref().is_closed())
    ]
    assert len(stale) <= 1  # only the last run's, until the next engine is made


async def test_nul_characters_and_unicode_in_a_result_round_trip(manager, repo, registry):
    value = {"text": "a\x00b", "emoji": "\U0001f600", "big": 2**70, "nested": [None, True, 1.5]}
    task = await _run_one(manager, repo, registry, {"status": "completed", "result": value})
    assert task.status == "completed"
    assert task.result == value


async def test_a_long_task_name_is_refused_with_a_clear_error(repo):
    with pytest.raises(ApflowError, match="at most 255"):
        await repo.create_task(name="n" * 300)
    with pytest.raises(ApflowError, match="NUL"):
        await repo.create_task(name="a\x00b")
    task = await repo.create_task(name="ok")
    with pytest.raises(ApflowError, match="at most 64"):
        await repo.update_task(task.id, parent_id="p" * 65)


async def test_two_trees_run_at_once_on_one_database(db_url, registry):
    from apflow import TaskManager, create_session

    async def run(label: str) -> str:
        session = create_session(db_url)
        manager = TaskManager(session, registry=registry)
        repo = manager.task_repository
        root = await repo.create_task(name=f"{label}-root", schemas={"method": "echo"})
        children = [
            await repo.create_task(
                name=f"{label}-{i}", parent_id=root.id, schemas={"method": "echo"}
            )
            for i in range(8)
        ]
        await repo.update_task(root.id, dependencies=[c.id for c in children])
        node = TaskTreeNode(root)
        for c in children:
            node.add_child(TaskTreeNode(c))
        await manager.distribute_task_tree(node)
        status = (await repo.get_task_by_id(root.id)).status
        await session.close()
        return status

    assert await asyncio.gather(run("a"), run("b"), run("c")) == ["completed"] * 3
