"""What a user copying the best-practices guide gets (issue 13's guide fixes).

- every built-in executor receives, next to a dependency, inputs its own schema accepts
  (what validate_tree checked), strict schemas included;
- a dependent of a failed required dependency ends ``failed`` (``dependency_failed``),
  naming the dependency by its spec id, so the guide's ``status == "failed"`` branch runs;
- the aggregator root runs once every child finished, reports each child's status, result
  or error, and is ``failed`` when a required child failed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from apflow.core.models import TaskModel
from apflow.core.registry import ExecutorRegistry
from apflow.core.task_runner import TaskRunner
from apflow.executors import BUILTINS
from apflow.service import Service
from apflow.service.generate_executor import GenerateExecutor

#: Minimal valid inputs of every built-in executor.
VALID_INPUTS: dict[str, dict[str, Any]] = {
    "aggregate_results_executor": {},
    "command_executor": {"argv": ["echo", "hi"]},
    "generate_executor": {"requirement": "report the Python version"},
    "llm_executor": {"prompt": "hello"},
    "mcp_tool_executor": {"url": "http://127.0.0.1:9/mcp", "tool": "t"},
    "rest_executor": {"url": "https://example.com"},
    "scrape_executor": {"url": "https://example.com"},
    "sql_executor": {"statement": "SELECT 1"},
    "system_info_executor": {},
    "transform_executor": {"data": [1], "operations": [{"op": "length"}]},
}


def _registry() -> ExecutorRegistry:
    registry = ExecutorRegistry()
    for cls in (*BUILTINS, GenerateExecutor):
        registry.register(cls)
    return registry


def test_every_builtin_has_sample_inputs():
    assert set(VALID_INPUTS) == set(_registry().ids())


@pytest.mark.parametrize("executor_id", sorted(VALID_INPUTS))
async def test_each_builtin_gets_inputs_its_schema_accepts_next_to_a_dependency(executor_id):
    registry = _registry()
    dep = TaskModel(
        id="d1", name="req", status="completed", result={"x": 1}, params={"spec_id": "req"}
    )
    task = TaskModel(
        id="t1",
        name=executor_id,
        schemas={"method": executor_id},
        status="in_progress",
        inputs=VALID_INPUTS[executor_id],
        dependencies=[{"id": "d1", "required": True}],
        params={},
    )
    received: list[dict[str, Any]] = []

    async def invoke(executor, inputs, timeout):  # the one executor call, captured
        received.append(inputs)
        return {"status": "completed", "result": None}

    runner = TaskRunner(registry, invoke=invoke)
    outcome = await runner.run(task, {"d1": dep, "req": dep}.get, lambda t, i: None)
    assert outcome["status"] == "completed", outcome
    executor = registry.get(executor_id)
    assert executor.validate_inputs(received[0]) is None, received[0]
    # the dependency's result is there exactly when the schema takes extra keys
    assert ("req" in received[0]) is executor.accepts_input("req")


async def test_generate_executor_with_a_dependency_runs(db_url, tmp_path):
    """The guide's case: ``'req' was unexpected`` before; now it generates (and runs)."""
    inner = {
        "tasks": [
            {
                "id": "root",
                "schemas": {"method": "aggregate_results_executor"},
                "dependencies": ["n"],
            },
            {
                "id": "n",
                "parent_id": "root",
                "schemas": {"method": "transform_executor"},
                "inputs": {"data": [1, 2], "operations": [{"op": "length"}]},
            },
        ]
    }
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([json.dumps(inner)]))
    tree = [
        {
            "id": "root",
            "schemas": {"method": "aggregate_results_executor"},
            "dependencies": ["req", "gen"],
        },
        {
            "id": "req",
            "parent_id": "root",
            "schemas": {"method": "system_info_executor"},
            "inputs": {"sections": ["python"]},
        },
        {
            "id": "gen",
            "parent_id": "root",
            "dependencies": ["req"],
            "schemas": {"method": "generate_executor"},
            "inputs": {
                "requirement": "count two things",
                "model": f"scripted:{answers}",
                "run": True,
            },
        },
    ]
    service = Service(db_url)
    assert service.validate(tree).valid
    view = await service.run(tree)
    gen = next(t for t in view.tasks if t.spec_id == "gen")
    assert gen.status == "completed", gen.error
    assert view.status == "completed" and view.result["gen"]["result"] == {"n": 2}


FAILING_CHILD = [
    {
        "id": "root",
        "schemas": {"method": "aggregate_results_executor"},
        "dependencies": ["ok", "bad", "after"],
    },
    {
        "id": "ok",
        "parent_id": "root",
        "schemas": {"method": "transform_executor"},
        "inputs": {"data": [1, 2, 3], "operations": [{"op": "length"}]},
    },
    {
        "id": "bad",
        "parent_id": "root",
        "schemas": {"method": "transform_executor"},
        "inputs": {"data": {"a": 1}, "operations": [{"op": "pluck", "path": "missing"}]},
    },
    {
        "id": "after",
        "parent_id": "root",
        "dependencies": ["bad"],
        "schemas": {"method": "transform_executor"},
        "inputs": {"data": [1], "operations": [{"op": "length"}]},
    },
]


async def test_a_dependent_of_a_failed_required_dependency_is_failed_naming_it(db_url):
    view = await Service(db_url).run(FAILING_CHILD)
    after = next(t for t in view.tasks if t.spec_id == "after")
    assert (after.status, after.error_type) == ("failed", "dependency_failed")
    assert "'bad'" in after.error and after.duration_s is None  # it never started


async def test_the_aggregator_root_reports_every_child_and_fails_on_a_required_one(db_url):
    service = Service(db_url)
    view = await service.run(FAILING_CHILD)
    assert view.status == "failed"
    root = (await service.load(view.root_id))[0]
    assert root.error_type == "dependency_failed" and "'bad' failed" in root.error
    assert root.result == {"ok": 3}  # what completed is kept
    assert root.result_meta["statuses"] == {"ok": "completed", "bad": "failed", "after": "failed"}
    assert set(root.result_meta["errors"]) == {"bad", "after"}
    assert root.result_meta["summary"]["completed"] == 1


async def test_an_aggregator_with_only_optional_children_completes_despite_failures(db_url):
    tree = json.loads(json.dumps(FAILING_CHILD))
    tree[0]["dependencies"] = [{"id": d, "required": False} for d in ("ok", "bad", "after")]
    view = await Service(db_url).run(tree)
    assert view.status == "completed" and view.result == {"ok": 3}
