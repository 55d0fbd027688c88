"""No SQLAlchemy exception reaches a user (issue 23, item 6): a duplicate task id, a missing
table and a refused foreign key each raise an ApflowError subclass with a hint."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from apflow import create_task, run_tasks
from apflow.core.database import get_engine
from apflow.core.errors import ApflowError, DuplicateTaskId, StorageError
from apflow.executors.aggregate import AggregateResultsExecutor


async def test_running_the_same_tree_twice_with_fixed_ids(db_url, registry):
    registry.register(AggregateResultsExecutor)

    def tasks():
        fetch = create_task(name="fetch", executor="echo", id="orders-fetch")
        return [fetch, create_task(name="process", executor="echo", dependencies=[fetch.id])]

    first = await run_tasks(tasks(), db=db_url, registry=registry)
    with pytest.raises(DuplicateTaskId) as err:
        await run_tasks(tasks(), db=db_url, registry=registry)
    assert isinstance(err.value, ApflowError) and not isinstance(err.value, SQLAlchemyError)
    message = str(err.value)
    assert f"task id 'orders-fetch' already exists in tree {first[0].id}" in message
    assert "use a new id" in err.value.hint and "resume" in err.value.hint


async def test_a_stored_id_given_to_the_repository_again(repo):
    await repo.create_task(name="a", id="same")
    with pytest.raises(DuplicateTaskId, match="'same' already exists"):
        await repo.create_task(name="b", id="same")
    with pytest.raises(DuplicateTaskId):
        await repo.create_tasks([{"name": "c", "id": "other"}, {"name": "d", "id": "other"}])


async def test_a_table_that_is_missing(db_url, repo):
    await repo.create_task(name="a")
    async with get_engine(db_url).begin() as conn:
        await conn.execute(text("DROP TABLE tasks"))
    with pytest.raises(StorageError) as err:
        await repo.get_task_by_id("a")
    assert "no apflow tables" in str(err.value) and err.value.hint
    with pytest.raises(StorageError):
        await repo.apply_updates([{"id": "a", "priority": 1}])


async def test_a_refused_foreign_key(db_url, repo):
    await repo.create_task(name="a")
    async with get_engine(db_url).begin() as conn:  # a constraint from outside apflow
        if db_url.startswith("sqlite"):  # SQLite cannot add a constraint to a table
            constraint = (
                "CREATE TRIGGER fk BEFORE INSERT ON tasks WHEN NEW.parent_id = 'gone' "
                "BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END"
            )
        else:
            constraint = (
                "ALTER TABLE tasks ADD CONSTRAINT outside_fk "
                "FOREIGN KEY (parent_id) REFERENCES tasks (id)"
            )
        await conn.execute(text(constraint))
    with pytest.raises(StorageError) as err:
        await repo.create_task(name="b", parent_id="gone")
    assert "refused a reference" in str(err.value) and "foreign key" in err.value.hint


def test_the_error_types_are_apflow_errors():
    assert issubclass(DuplicateTaskId, StorageError) and issubclass(StorageError, ApflowError)
