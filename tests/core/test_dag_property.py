"""Property test: on random DAGs every task starts only after its dependencies finished,
and the final statuses follow the dependency rules exactly."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apflow.core.database import create_session
from apflow.core.engine import TaskManager
from apflow.core.executor import BaseTask
from apflow.core.registry import ExecutorRegistry


@st.composite
def dags(draw):
    """Tasks 0..n-1; each depends only on lower indexes, so the graph is acyclic."""
    n = draw(st.integers(1, 12))
    tasks = []
    for i in range(n):
        deps = draw(st.lists(st.integers(0, i - 1), unique=True, max_size=3)) if i else []
        tasks.append(
            {
                "deps": [(d, draw(st.booleans())) for d in deps],  # (index, required)
                "fails": draw(st.integers(0, 3)) == 0,
                "priority": draw(st.integers(0, 3)),
                "sleep": draw(st.sampled_from([0, 0, 0.001, 0.003])),
            }
        )
    return tasks, draw(st.integers(1, 4))


def expected_statuses(tasks: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for task in tasks:
        if any(req and out[d] != "completed" for d, req in task["deps"]):
            out.append("blocked")  # fails without running: a required dependency failed
        else:
            out.append("failed" if task["fails"] else "completed")
    return out


_example = itertools.count()


async def run_dag(tasks: list[dict[str, Any]], max_concurrency: int, db: Path):
    clock = itertools.count()
    starts: dict[str, int] = {}
    ends: dict[str, int] = {}

    class Probe(BaseTask):
        id = "probe"

        async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
            name = self.context.task.name
            assert name not in starts, f"{name} started twice"
            starts[name] = next(clock)
            await asyncio.sleep(inputs["sleep"])
            ends[name] = next(clock)
            if inputs["fails"]:
                return {"status": "failed", "error": "planned", "error_type": "planned"}
            return {"status": "completed", "result": name}

    registry = ExecutorRegistry()
    registry.register(Probe)
    session = create_session(f"sqlite+aiosqlite:///{db}")
    manager = TaskManager(session, registry=registry, max_concurrency=max_concurrency)
    prefix = f"e{next(_example)}-"  # one database for all examples; ids never collide
    ids = [f"{prefix}t{i}" for i in range(len(tasks))]
    await manager.task_repository.create_tasks(
        [
            {
                "id": ids[i],
                "name": f"t{i}",
                "parent_id": None if i == 0 else ids[0],
                "dependencies": [{"id": ids[d], "required": r} for d, r in t["deps"]],
                "priority": t["priority"],
                "schemas": {"method": "probe"},
                "inputs": {"sleep": t["sleep"], "fails": t["fails"]},
            }
            for i, t in enumerate(tasks)
        ]
    )
    await manager.run_tree(ids[0])
    rows = {t.name: t for t in await manager.task_repository.get_tree(ids[0])}
    await session.close()
    return starts, ends, rows


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(dag=dags())
def test_random_dags_respect_dependencies(dag, tmp_path):
    tasks, max_concurrency = dag
    starts, ends, rows = asyncio.run(run_dag(tasks, max_concurrency, tmp_path / "dags.db"))
    expected = expected_statuses(tasks)
    for i, task in enumerate(tasks):
        name = f"t{i}"
        row = rows[name]
        want = "failed" if expected[i] == "blocked" else expected[i]
        assert row.status == want, (name, row.status, row.error)
        if expected[i] == "blocked":
            assert name not in starts
            assert row.error_type == "dependency_failed"
            blockers = [f"t{d}" for d, req in task["deps"] if req and expected[d] != "completed"]
            assert any(b in row.error for b in blockers)
            continue
        assert name in starts
        for d, _required in task["deps"]:
            dep = f"t{d}"
            if dep in ends:  # it ran: it must have ended before this task started
                assert ends[dep] < starts[name], (dep, name)
            else:  # never ran (blocked): only possible for an optional dependency
                assert expected[d] == "blocked"
        assert row.started_at is not None and row.completed_at >= row.started_at
    assert len(starts) == sum(1 for s in expected if s != "blocked")
