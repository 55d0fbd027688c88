"""apflow.service.Service: the one way trees are stored, run, resumed, cancelled, read, listed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from apflow.core.errors import ApflowError, TaskNotFound, ValidationFailed
from apflow.core.executor import BaseTask
from apflow.core.registry import default_registry
from apflow.service import Service, TreeView
from tests.helpers import NapExecutor


class TallyExecutor(BaseTask):
    """Only in the test registry: a tree that uses it proves which registry was used."""

    id = "tally_executor"
    description = "count the items"
    input_schema = {"type": "object", "properties": {"items": {"type": "array"}}}

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"status": "completed", "result": len(inputs.get("items", []))}


def tree(child: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"id": "root", "schemas": {"method": "aggregate_results_executor"}, "dependencies": ["c"]},
        {"id": "c", "parent_id": "root", **child},
    ]


TALLY = tree({"schemas": {"method": "tally_executor"}, "inputs": {"items": [1, 2, 3]}})


def nap(seconds: float) -> list[dict[str, Any]]:
    return tree({"schemas": {"method": "nap_executor"}, "inputs": {"seconds": seconds}})


@pytest.fixture
def registry():
    reg = default_registry.copy()
    reg.register(NapExecutor)
    reg.register(TallyExecutor)
    return reg


@pytest.fixture
def service(db_url, registry):
    return Service(db_url, registry=registry)


async def test_run_validates_stores_runs_and_returns_statuses(service):
    view = await service.run(TALLY)
    assert isinstance(view, TreeView)
    assert view.status == "completed" and view.finished and view.result == {"c": 3}
    assert {t.spec_id: t.status for t in view.tasks} == {"root": "completed", "c": "completed"}
    again = await service.get_tree(view.root_id)
    assert again.tasks[1].result == 3


async def test_an_invalid_tree_is_refused_with_every_issue_and_nothing_is_stored(service):
    bad = tree({"schemas": {"method": "no_such_executor"}})
    with pytest.raises(ValidationFailed) as info:
        await service.run(bad)
    assert [i.code for i in info.value.report.issues] == ["unknown_executor"]
    assert service.validate(bad).issues[0].code == "unknown_executor"
    assert (await service.list_trees()).total == 0


async def test_wait_false_returns_once_stored_and_the_tree_runs_in_the_background(service):
    started = await service.run(nap(0.05), wait=False)
    assert not started.finished and {t.status for t in started.tasks} == {"pending"}
    await asyncio.wait_for(service.wait(started.root_id), 10)
    done = await service.get_tree(started.root_id)
    assert done.status == "completed" and done.result == {"c": "rested"}


async def test_cancel_a_background_run_then_resume_it(service):
    started = await service.run(nap(30), wait=False)
    assert service.is_running(started.root_id)  # stored and starting: a cancel now sticks
    assert (await service.cancel(started.root_id)).cancelled == 2
    await asyncio.wait_for(service.wait(started.root_id), 10)
    stopped = await service.get_tree(started.root_id)
    assert {t.status for t in stopped.tasks} == {"cancelled"}
    # a resume re-runs what did not complete (here with a short nap, set in the stored inputs)
    from apflow.core.database import create_session
    from apflow.core.repository import TaskRepository

    session = create_session(service.db)
    child = next(t for t in stopped.tasks if t.spec_id == "c")
    await TaskRepository(session).update_task(child.id, inputs={"seconds": 0.01})
    await session.close()
    resumed = await service.resume(started.root_id)
    assert resumed.status == "completed" and resumed.result == {"c": "rested"}


async def test_cancel_of_a_tree_not_running_here_goes_through_the_database(service):
    other = Service(service.db, registry=service.registry)
    started = await other.run(nap(30), wait=False)
    assert (await service.cancel(started.root_id)).cancelled == 2
    await asyncio.wait_for(other.wait(started.root_id), 10)  # it notices within a second
    assert (await service.get_tree(started.root_id)).status == "cancelled"


async def test_a_refused_background_start_raises_to_the_caller(service):
    with pytest.raises(TaskNotFound):
        await service.resume("no-such-root", wait=False)
    with pytest.raises(ApflowError, match="either a tree"):
        await service.store_and_run()


async def test_list_trees_filters_and_pages_newest_first(service):
    first = await service.run(TALLY, user_id="ana")
    second = await service.run(TALLY, user_id="bo")
    third = await service.run(TALLY)
    page = await service.list_trees(limit=2)
    assert page.total == 3 and [t.root_id for t in page.trees] == [third.root_id, second.root_id]
    assert page.trees[0].counts == {"completed": 2}
    rest = await service.list_trees(limit=2, after=page.next_cursor)
    assert [t.root_id for t in rest.trees] == [first.root_id] and rest.next_cursor is None
    ana = await service.list_trees(user_id="ana")
    assert ana.total == 1 and ana.trees[0].root_id == first.root_id
    assert (await service.list_trees(status="failed")).total == 0
    with pytest.raises(ApflowError, match="unknown status"):
        await service.list_trees(status="done")
    with pytest.raises(ApflowError, match="bad page cursor"):
        await service.list_trees(after="yesterday")
    assert len(await service.list_tasks(roots_only=False)) == 6


async def test_a_user_sees_only_their_own_trees(service):
    ana = await service.run(TALLY, user_id="ana")
    assert (await service.get_tree(ana.root_id, user_id="ana")).status == "completed"
    with pytest.raises(TaskNotFound):
        await service.get_tree(ana.root_id, user_id="bo")
    with pytest.raises(TaskNotFound):
        await service.cancel(ana.root_id, user_id="bo")
    with pytest.raises(TaskNotFound):
        await service.resume(ana.root_id, user_id="bo")
    assert (await service.get_tree(ana.root_id)).root_id == ana.root_id  # the local user


async def test_executors_are_those_of_the_services_registry(service):
    ids = [e.id for e in service.executors()]
    assert "tally_executor" in ids and "aggregate_results_executor" in ids
    assert service.executor("tally_executor").input_schema["type"] == "object"
    assert "tally_executor" not in [e.id for e in Service().executors()]


async def test_generate_executor_in_a_run_uses_that_runs_registry_and_database(service, tmp_path):
    """The nested tree uses tally_executor (only in this registry) and lands in this database."""
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([json.dumps({"tasks": TALLY})]))
    outer = tree(
        {
            "schemas": {"method": "generate_executor"},
            "inputs": {
                "requirement": "count three things",
                "model": f"scripted:{answers}",
                "run": True,
            },
        }
    )
    view = await service.run(outer)
    assert view.status == "completed", view
    generated = view.result["c"]
    assert generated["status"] == "completed" and generated["result"] == {"c": 3}
    listed = await service.list_trees()
    assert generated["root_task_id"] in [t.root_id for t in listed.trees]
    assert listed.total == 2


async def test_generate_returns_the_tree_and_can_run_it(service, tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([json.dumps(TALLY)] * 2))
    service.model = f"scripted:{answers}"
    generated = await service.generate("count three things")
    assert [t["id"] for t in generated.tasks] == ["root", "c"] and generated.run is None
    ran = await service.generate("count three things", run=True)
    assert ran.run is not None and ran.run.result == {"c": 3}


async def test_load_reads_a_stored_tree_and_names_an_unknown_root(service):
    view = await service.run(TALLY)
    assert [t.id for t in await service.load(view.root_id)][0] == view.root_id
    with pytest.raises(TaskNotFound):
        await service.load("no-such-root")
