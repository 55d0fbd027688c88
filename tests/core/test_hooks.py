"""Pre/post hooks: the guide's examples, persistence, ordering, failures, the repository."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any

from apflow import get_hook_repository, register_post_hook, register_pre_hook
from apflow.core.engine import TaskManager
from apflow.core.hooks import unregister_hook

from .conftest import stored


async def _one_task(repo, **fields: Any):
    fields.setdefault("name", "solo")
    fields.setdefault("schemas", {"method": "echo"})
    return await repo.create_task(**fields)


async def test_guide_validate_and_enrich_and_log_and_metric(manager, repo, recorder, caplog):
    logger = logging.getLogger("apflow.tests.hooks")
    recorded: list[tuple[str, float, dict]] = []

    class Metrics:
        def record(self, name: str, value: float, tags: dict) -> None:
            recorded.append((name, value, tags))

    metrics = Metrics()

    @register_pre_hook
    async def validate_and_enrich(task):
        """Validate inputs and add metadata"""
        # Validate
        if task.inputs and "user_id" in task.inputs:
            if not task.inputs["user_id"]:
                raise ValueError("user_id is required")

        # Enrich with metadata
        task.inputs["_hook_timestamp"] = datetime.now().isoformat()
        task.inputs["_environment"] = os.getenv("ENV", "production")

    @register_post_hook
    async def log_and_metric(task, inputs, result):
        """Log execution and collect metrics"""
        duration = (datetime.now() - task.created_at).total_seconds()
        logger.info(f"Task {task.id} completed in {duration}s")
        metrics.record("task.duration", duration, tags={"type": task.type})

    good = await _one_task(repo, name="good", inputs={"user_id": "u1"})
    empty = await _one_task(repo, name="empty", inputs={"user_id": ""}, parent_id=good.id)
    with caplog.at_level(logging.ERROR, logger="apflow"):
        await manager.run_tree(good.id)

    seen = recorder.inputs_of("good")
    assert seen["_environment"] == os.getenv("ENV", "production")
    assert datetime.fromisoformat(seen["_hook_timestamp"])
    assert (await stored(repo, good.id)).inputs["_hook_timestamp"] == seen["_hook_timestamp"]
    # The raising pre-hook is logged with the task id and the task still runs.
    empty_row = await stored(repo, empty.id)
    assert empty_row.status == "completed"
    assert "_hook_timestamp" not in recorder.inputs_of("empty")
    assert any(empty.id in r.getMessage() and r.exc_info for r in caplog.records)
    assert sorted(tags["type"] for _, _, tags in recorded) == ["echo", "echo"]
    assert all(name == "task.duration" and value >= 0 for name, value, _ in recorded)


async def test_guide_adjust_priority_by_load(manager, repo):
    @register_pre_hook
    async def adjust_priority_by_load(task):
        """Adjust task priority based on system load"""
        repo = get_hook_repository()
        if not repo:
            return

        # Query current system load
        pending_count = len(await repo.get_tasks_by_status("pending"))

        # Adjust priority if system is overloaded
        if pending_count > 100:
            await repo.update_task(task.id, priority=task.priority + 1)

    # A backlog of 101 pending tasks elsewhere makes the system "overloaded".
    await repo.create_tasks([{"name": f"backlog{i}"} for i in range(101)])
    task = await _one_task(repo, priority=1)
    await manager.run_tree(task.id)
    after = await stored(repo, task.id)
    assert after.priority == 2
    assert after.status == "completed"


async def test_guide_fast_hook_and_safe_hook(manager, repo, recorder):
    logger = logging.getLogger("apflow.tests.hooks")

    async def validate_something(task):
        if task.name == "bad":
            raise RuntimeError("looks wrong")

    @register_pre_hook
    async def fast_hook(task):
        # Quick validation and transformation only
        if task.inputs:
            task.inputs["validated"] = True
        # Heavy work should be in separate tasks

    @register_pre_hook
    async def safe_hook(task):
        """Hook with proper error handling"""
        try:
            # Your hook logic
            await validate_something(task)
        except Exception as e:
            # Log error but don't fail the task
            logger.error(f"Hook failed for task {task.id}: {e}")
            # Optionally add error flag to inputs
            if task.inputs is None:
                task.inputs = {}
            task.inputs["_hook_error"] = str(e)

    root = await _one_task(repo, name="good", inputs={"x": 1})
    await _one_task(repo, name="bad", inputs={"x": 2}, parent_id=root.id)
    await manager.run_tree(root.id)
    assert recorder.inputs_of("good") == {"x": 1, "validated": True}
    assert recorder.inputs_of("bad") == {"x": 2, "validated": True, "_hook_error": "looks wrong"}


async def test_pre_hook_changes_are_persisted_and_what_the_executor_receives(
    manager, repo, recorder
):
    @register_pre_hook
    def add_region(task):  # a sync hook
        task.inputs["region"] = "eu"
        task.inputs["value"] = f"{task.inputs['value']}-hooked"

    task = await _one_task(repo, inputs={"value": "v"})
    await manager.run_tree(task.id)
    assert recorder.inputs_of("solo") == {"value": "v-hooked", "region": "eu"}
    row = await stored(repo, task.id)
    assert row.inputs == {"value": "v-hooked", "region": "eu"}
    assert row.result == "v-hooked"


async def test_hooks_run_in_registration_order_and_see_each_others_changes(manager, repo, recorder):
    order: list[str] = []

    @register_pre_hook
    async def first(task):
        order.append("first")
        task.inputs["trail"] = ["first"]

    @register_pre_hook
    def second(task):
        order.append("second")
        task.inputs["trail"].append("second")

    @register_pre_hook
    async def third_updates_priority(task):
        order.append("third")
        # Writing another field through the repository must not undo the earlier edits.
        await get_hook_repository().update_task(task.id, priority=0)
        task.inputs["trail"].append("third")

    @register_post_hook
    def post(task, inputs, result):
        order.append("post")
        assert inputs["trail"] == ["first", "second", "third"]

    task = await _one_task(repo, inputs={})
    await manager.run_tree(task.id)
    assert order == ["first", "second", "third", "post"]
    assert recorder.inputs_of("solo") == {"trail": ["first", "second", "third"]}
    row = await stored(repo, task.id)
    assert row.priority == 0
    assert row.inputs == {"trail": ["first", "second", "third"]}


async def test_get_hook_repository_is_the_runs_repository_and_none_outside(manager, repo):
    seen: list[Any] = []

    @register_pre_hook
    async def grab(task):
        seen.append(get_hook_repository())

    assert get_hook_repository() is None
    task = await _one_task(repo)
    await manager.run_tree(task.id)
    assert seen == [manager.task_repository]
    assert seen[0].session is manager.session
    assert get_hook_repository() is None


async def test_post_hook_gets_inputs_and_the_standard_result(manager, repo):
    results: list[tuple[str, dict, dict]] = []

    @register_post_hook
    async def collect(task, inputs, result):
        results.append((task.name, inputs, result))

    root = await _one_task(repo, name="ok", inputs={"value": 42})
    await repo.create_task(
        name="broken", schemas={"method": "fail"}, parent_id=root.id, inputs={"a": 1}
    )
    await manager.run_tree(root.id)
    by_name = {name: (inputs, result) for name, inputs, result in results}
    assert by_name["ok"] == ({"value": 42}, {"status": "completed", "result": 42})
    assert by_name["broken"] == (
        {"a": 1},
        {"status": "failed", "error": "it broke", "error_type": "boom"},
    )


async def test_a_raising_hook_is_logged_with_the_task_id_and_does_not_fail_the_task(
    manager, repo, caplog
):
    @register_pre_hook
    def broken_pre(task):
        raise RuntimeError("pre hook exploded")

    @register_post_hook
    async def broken_post(task, inputs, result):
        raise KeyError("post hook exploded")

    task = await _one_task(repo, inputs={"value": "fine"})
    with caplog.at_level(logging.ERROR, logger="apflow"):
        await manager.run_tree(task.id)
    row = await stored(repo, task.id)
    assert (row.status, row.result) == ("completed", "fine")
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("broken_pre" in m and task.id in m for m in messages)
    assert any("broken_post" in m and task.id in m for m in messages)


async def test_unregistered_hooks_stop_running(session, registry, repo, recorder):
    calls: list[str] = []

    def hook(task):
        calls.append(task.id)

    register_pre_hook(hook)
    unregister_hook(hook)
    task = await _one_task(repo)
    await TaskManager(session, registry=registry).run_tree(task.id)
    assert calls == []
    assert recorder.names() == ["solo"]


async def test_hooks_reading_the_tree_mid_run_do_not_disturb_the_run(session, registry, recorder):
    """Hooks refresh task objects from the database while the engine has unsaved state."""
    manager = TaskManager(session, registry=registry, max_concurrency=4)
    repo = manager.task_repository
    root = await repo.create_task(name="root", schemas={"method": "echo"})
    firsts = [
        await repo.create_task(
            name=f"f{i}", schemas={"method": "echo"}, parent_id=root.id, inputs={"value": i}
        )
        for i in range(12)
    ]
    seconds = [
        await repo.create_task(
            name=f"s{i}",
            schemas={"method": "echo"},
            parent_id=root.id,
            dependencies=[f.id],
            inputs={"value": f"${{{f.id}.result}}"},
        )
        for i, f in enumerate(firsts)
    ]

    @register_pre_hook
    async def look_around(task):
        tree = await get_hook_repository().get_tree(root.id)
        assert len(tree) == 25

    await manager.run_tree(root.id)
    for i, task in enumerate(seconds):
        row = await stored(repo, task.id)
        assert (row.status, row.result) == ("completed", i)
        assert recorder.inputs_of(f"s{i}")["value"] == i
