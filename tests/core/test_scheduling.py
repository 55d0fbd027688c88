"""Run-when-ready scheduling: dependencies (required/optional), priorities, parallelism,
and data flow between tasks (injected results and ${id.result.path} references)."""

from __future__ import annotations

import time

import pytest

from apflow.core.engine import TaskManager
from apflow.core.errors import TaskTreeError

from .conftest import snapshot, stored


def echo(name: str, **fields):
    return {"name": name, "schemas": {"method": "echo"}, **fields}


def fail(name: str, **fields):
    return {"name": name, "schemas": {"method": "fail"}, **fields}


async def make(repo, *rows):
    """Create rows (first one is the root; the rest become its children) by name."""
    root_id = None
    created = {}
    for row in rows:
        row = dict(row)
        if root_id is not None:
            row.setdefault("parent_id", root_id)
        row["dependencies"] = [
            {"id": created[d].id, "required": True}
            if isinstance(d, str)
            else {"id": created[d[0]].id, "required": d[1]}
            for d in row.get("dependencies", [])
        ]
        task = await repo.create_task(**row)
        created[task.name] = task
        root_id = root_id or task.id
    return created


async def test_a_task_starts_when_its_dependencies_finish_not_by_level(manager, repo, recorder):
    # slow (0.3 s) and fast (0 s) are independent; after_fast must not wait for slow.
    t = await make(
        repo,
        echo("slow", inputs={"sleep": 0.3}),
        echo("fast"),
        echo("after_fast", dependencies=["fast"]),
    )
    await manager.run_tree(t["slow"].id)
    events = recorder.events
    assert events.index(("start", "after_fast")) < events.index(("end", "slow"))


async def test_failed_required_dependency_fails_dependents_transitively(manager, repo, recorder):
    t = await make(
        repo,
        echo("root"),
        fail("a"),
        echo("b", dependencies=["a"]),
        echo("c", dependencies=["b"]),
        echo("side"),
    )
    await manager.run_tree(t["root"].id)
    a, b, c = [await stored(repo, t[n].id) for n in "abc"]
    assert (a.status, a.error_type) == ("failed", "boom")
    assert (b.status, b.error_type) == ("failed", "dependency_failed")
    assert t["a"].id in b.error and "failed" in b.error
    assert (c.status, c.error_type) == ("failed", "dependency_failed")
    assert t["b"].id in c.error and "failed" in c.error
    assert (await stored(repo, t["side"].id)).status == "completed"
    assert sorted(recorder.names()) == ["a", "root", "side"]
    assert b.started_at is None and b.completed_at is not None


async def test_optional_dependency_never_blocks(manager, repo, recorder):
    t = await make(
        repo,
        echo("root"),
        fail("primary"),
        echo("fallback", dependencies=[("primary", False)]),
        echo("final", dependencies=[("primary", False), ("fallback", False)]),
    )
    await manager.run_tree(t["root"].id)
    assert (await stored(repo, t["primary"].id)).status == "failed"
    assert (await stored(repo, t["fallback"].id)).status == "completed"
    assert (await stored(repo, t["final"].id)).status == "completed"
    # ...but an optional dependency is still waited for.
    assert recorder.names().index("fallback") > recorder.names().index("primary")
    assert recorder.names().index("final") > recorder.names().index("fallback")


async def test_mixed_required_and_optional(manager, repo):
    t = await make(
        repo,
        echo("root"),
        echo("critical"),
        fail("optional", dependencies=[("critical", False)]),
        echo("final", dependencies=[("critical", True), ("optional", False)]),
        echo("strict", dependencies=[("optional", True)]),
    )
    await manager.run_tree(t["root"].id)
    assert (await stored(repo, t["final"].id)).status == "completed"
    strict = await stored(repo, t["strict"].id)
    assert (strict.status, strict.error_type) == ("failed", "dependency_failed")


async def test_dependency_outcomes_reach_the_executor(session, registry, repo):
    from apflow.core.executor import BaseTask

    seen = {}

    class Inspect(BaseTask):
        id = "inspect"

        async def execute(self, inputs):
            seen["deps"] = [
                (d.task_id, d.status, d.required, d.error_type) for d in self.context.dependencies
            ]
            return {"status": "completed", "result": None}

    registry.register(Inspect)
    t = await make(
        repo,
        echo("root"),
        fail("bad"),
        echo("good"),
        {
            "name": "look",
            "schemas": {"method": "inspect"},
            "dependencies": [("bad", False), ("good", True)],
        },
    )
    await TaskManager(session, registry=registry).run_tree(t["root"].id)
    assert seen["deps"] == [
        (t["bad"].id, "failed", False, "boom"),
        (t["good"].id, "completed", True, None),
    ]


async def test_ready_tasks_start_lowest_priority_number_first(session, registry, repo, recorder):
    rows = [echo("root", priority=2)]
    for name, prio in [("low", 3), ("urgent", 0), ("normal", 2), ("high", 1)]:
        rows.append(echo(name, priority=prio))
    t = await make(repo, *rows)
    await TaskManager(session, registry=registry, max_concurrency=1).run_tree(t["root"].id)
    # root (created first) and normal tie on priority 2: creation order breaks the tie.
    assert recorder.names() == ["urgent", "high", "root", "normal", "low"]


async def test_priority_applies_among_tasks_that_become_ready_later(
    session, registry, repo, recorder
):
    t = await make(
        repo,
        echo("gate"),
        echo("later_low", priority=3, dependencies=["gate"]),
        echo("later_urgent", priority=0, dependencies=["gate"]),
    )
    await TaskManager(session, registry=registry, max_concurrency=1).run_tree(t["gate"].id)
    assert recorder.names() == ["gate", "later_urgent", "later_low"]


async def test_ten_sleeping_tasks_run_in_parallel(manager, repo, recorder):
    rows = [echo("root")] + [echo(f"s{i}", inputs={"sleep": 0.2}) for i in range(10)]
    t = await make(repo, *rows)
    start = time.perf_counter()
    await manager.run_tree(t["root"].id)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"10 x 0.2 s took {elapsed:.2f} s: not parallel"
    assert len(recorder.names()) == 11
    starts = [recorder.times[f"s{i}"][0] for i in range(10)]
    ends = [recorder.times[f"s{i}"][1] for i in range(10)]
    assert max(starts) < min(ends)  # all ten were running at the same moment


async def test_max_concurrency_is_respected(session, registry, repo, recorder):
    rows = [echo("root")] + [echo(f"s{i}", inputs={"sleep": 0.05}) for i in range(6)]
    t = await make(repo, *rows)
    await TaskManager(session, registry=registry, max_concurrency=2).run_tree(t["root"].id)
    running = peak = 0
    for kind, _ in recorder.events:
        running += 1 if kind == "start" else -1
        peak = max(peak, running)
    assert peak == 2


# -- data flow -------------------------------------------------------------------------------


async def test_dependency_results_are_injected_under_their_id(manager, repo, recorder):
    t = await make(
        repo,
        echo("root"),
        echo("a", inputs={"value": {"n": 1}}),
        echo("b", inputs={"value": "from b"}, params={"spec_id": "bee"}),
        echo("c", dependencies=["a", "b"], inputs={"bee": "kept"}),
    )
    await manager.run_tree(t["root"].id)
    seen = recorder.inputs_of("c")
    assert seen[t["a"].id] == {"n": 1}
    assert seen["bee"] == "kept"  # inputs already holding the key are not overwritten
    assert (await stored(repo, t["c"].id)).inputs == {"bee": "kept"}  # stored inputs unchanged


async def test_whole_value_and_interpolated_references(manager, repo, recorder):
    payload = {"user": {"name": "Ann", "tags": ["x", "y"], "age": 41}}
    t = await make(
        repo, echo("root"), echo("fetch", inputs={"value": payload}, params={"spec_id": "fetch"})
    )
    c = await repo.create_task(
        **echo(
            "use",
            parent_id=t["root"].id,
            dependencies=[t["fetch"].id],
            inputs={
                "whole": f"${{{t['fetch'].id}.result.user}}",
                "tags": "${fetch.result.user.tags}",
                "second": "${fetch.result.user.tags[1]}",
                "age": "${fetch.result.user.age}",
                "text": "Hi ${fetch.result.user.name}, tags=${fetch.result.user.tags}",
                "nested": ["${fetch.result.user.age}", {"deep": "${fetch.result.user.name}"}],
            },
        )
    )
    await manager.run_tree(t["root"].id)
    seen = recorder.inputs_of("use")
    assert seen["whole"] == payload["user"]
    assert seen["tags"] == ["x", "y"]
    assert seen["second"] == "y"
    assert seen["age"] == 41 and isinstance(seen["age"], int)
    assert seen["text"] == 'Hi Ann, tags=["x", "y"]'
    assert seen["nested"] == [41, {"deep": "Ann"}]
    assert (await stored(repo, c.id)).status == "completed"


async def test_reference_to_a_missing_path_fails_only_that_task(manager, repo, recorder):
    t = await make(repo, echo("root"), echo("fetch", inputs={"value": {"a": 1}}))
    bad = await repo.create_task(
        **echo(
            "bad",
            parent_id=t["root"].id,
            dependencies=[t["fetch"].id],
            inputs={"x": f"${{{t['fetch'].id}.result.nope}}"},
        )
    )
    await manager.run_tree(t["root"].id)
    row = await stored(repo, bad.id)
    assert (row.status, row.error_type) == ("failed", "reference_error")
    assert "nope" in row.error
    assert "bad" not in recorder.names()


async def test_reference_to_an_undeclared_dependency_is_refused_before_running(
    manager, session, repo, recorder
):
    t = await make(repo, echo("root"), echo("fetch"))
    sneaky = await repo.create_task(
        **echo("sneaky", parent_id=t["root"].id, inputs={"x": f"${{{t['fetch'].id}.result}}"})
    )
    before = await snapshot(session)
    with pytest.raises(TaskTreeError) as err:
        await manager.run_tree(t["root"].id)
    assert sneaky.id in str(err.value) and t["fetch"].id in str(err.value)
    assert recorder.names() == []
    assert await snapshot(session) == before


async def test_malformed_reference_is_refused_before_running(manager, session, repo, recorder):
    t = await make(repo, echo("root", inputs={"x": "${not a reference}"}))
    with pytest.raises(TaskTreeError, match="malformed reference"):
        await manager.run_tree(t["root"].id)
    assert recorder.names() == []


async def test_state_writes_are_batched_not_one_commit_per_task(
    session, registry, repo, monkeypatch
):
    from apflow.core.repository import TaskRepository

    rows = [echo("root")] + [echo(f"w{i}") for i in range(59)]
    t = await make(repo, *rows)
    batches: list[int] = []  # each apply_updates call is one transaction
    original = TaskRepository.apply_updates

    async def counting(self, updates):
        batches.append(len(updates))
        await original(self, updates)

    monkeypatch.setattr(TaskRepository, "apply_updates", counting)
    await TaskManager(session, registry=registry, max_concurrency=64).run_tree(t["root"].id)
    assert (await stored(repo, t["w58"].id)).status == "completed"
    # 60 tasks x 2 state changes in a handful of transactions, not 60 or 120.
    assert sum(batches) == 120
    assert 2 <= len(batches) <= 6, batches


async def test_a_skip_names_the_failed_dependency_by_its_spec_id_too(manager, repo):
    t = await make(
        repo,
        echo("root"),
        fail("a", params={"spec_id": "fetch_users"}),
        echo("b", dependencies=["a"]),
    )
    await manager.run_tree(t["root"].id)
    b = await stored(repo, t["b"].id)
    assert b.error == f"required dependency 'fetch_users' ({t['a'].id}, a) failed"
