"""The guide's fallback pattern (Orchestration §4, Error Handling §3) under ``run_tasks``'
automatic root (issue 23, item 4): the root requires the sinks only, so a failure an
optional dependent absorbed does not fail the tree, and the root still reports it."""

from __future__ import annotations

from typing import Any

import pytest

from apflow import BaseTask, ExecutorRegistry, create_task, run_tasks
from apflow.executors.aggregate import AggregateResultsExecutor


class Step(BaseTask):
    description = "fails when asked to"

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if inputs.get("fail"):
            return {"status": "failed", "error": "upstream is down", "error_type": "unavailable"}
        return {"status": "completed", "result": self.context.task.name}


@pytest.fixture
def registry() -> ExecutorRegistry:
    reg = ExecutorRegistry()
    reg.register(AggregateResultsExecutor)
    for name in ("primary_fetch", "fallback_fetch", "process_result"):
        reg.register(Step, id=name)
    return reg


def _fallback(final_fails: bool = False):
    primary = create_task(name="primary_fetch", inputs={"fail": True})
    fallback = create_task(
        name="fallback_fetch", dependencies=[{"id": primary.id, "required": False}]
    )
    final = create_task(
        name="process_result",
        dependencies=[
            {"id": primary.id, "required": False},
            {"id": fallback.id, "required": False},
        ],
        inputs={"fail": final_fails},
    )
    return primary, fallback, final


async def test_the_tree_completes_when_the_fallback_succeeds(db_url, registry):
    primary, fallback, final = _fallback()
    root, *tasks = await run_tasks([primary, fallback, final], db=db_url, registry=registry)
    assert [t.status for t in tasks] == ["failed", "completed", "completed"]
    assert root.status == "completed"
    assert root.dependencies == [
        {"id": primary.id, "required": False},
        {"id": fallback.id, "required": False},
        {"id": final.id, "required": True},
    ]
    # the absorbed failure is still shown
    assert root.result_meta["statuses"][primary.id] == "failed"
    assert root.result_meta["errors"] == {primary.id: "upstream is down"}
    assert root.result == {fallback.id: "fallback_fetch", final.id: "process_result"}


async def test_the_tree_fails_when_the_final_step_fails(db_url, registry):
    root, *_ = await run_tasks(list(_fallback(final_fails=True)), db=db_url, registry=registry)
    assert (root.status, root.error_type) == ("failed", "dependency_failed")


async def test_a_failure_with_a_required_dependent_still_fails_the_tree(db_url, registry):
    fetch = create_task(name="primary_fetch", inputs={"fail": True})
    process = create_task(name="process_result", dependencies=[fetch.id])
    root, fetched, processed = await run_tasks([fetch, process], db=db_url, registry=registry)
    assert processed.error_type == "dependency_failed" and root.status == "failed"
