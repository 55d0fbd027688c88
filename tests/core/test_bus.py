"""The event bus: each kind of event is published where it happens, and the bus's rules
(kinds, unsubscribe, async subscribers, failures, scopes, parent buses) hold."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

import pytest

from apflow.core import hooks
from apflow.core.bus import (
    PROCESS_BUS,
    ApprovalEvent,
    EventBus,
    EventKind,
    GenerationPhase,
    HookEvent,
    ModelCall,
    ScheduleFired,
    TasksCommitted,
    TaskStateChanged,
    TreeEvent,
    current_bus,
    use_bus,
)
from apflow.core.engine import TaskManager
from apflow.core.new_task import create_task
from apflow.core.tree import TaskTreeNode


@pytest.fixture
def bus() -> EventBus:
    return EventBus(name="test")


def heard(bus: EventBus, kinds=None) -> list:
    events: list = []
    bus.subscribe(kinds, events.append)
    return events


async def _two_tasks(repo, *, fail_second: bool = False):
    root = await repo.create_task(name="root", schemas={"method": "echo"})
    second = await repo.create_task(
        name="second", parent_id=root.id, schemas={"method": "fail" if fail_second else "echo"}
    )
    return root, second


# -- one test per kind of event ------------------------------------------------------------


async def test_tree_events_say_stored_started_and_finished_with_the_roots_status(
    session, registry, bus
):
    events = heard(bus, EventKind.of_family("tree"))
    manager = TaskManager(session, registry=registry, bus=bus)
    root = TaskTreeNode(create_task("root", executor="echo"))
    root.add_child(TaskTreeNode(create_task("child", executor="echo")))
    await manager.distribute_task_tree(root)

    assert [e.kind for e in events] == [
        EventKind.TREE_STORED,
        EventKind.TREE_STARTED,
        EventKind.TREE_FINISHED,
    ]
    assert {e.root_id for e in events} == {root.task.id}
    assert events[0].tasks == 2
    assert events[-1].status == "completed" and not events[-1].interrupted


async def test_create_tree_publishes_tree_stored(session, bus):
    from apflow.spec import create_tree

    events = heard(bus, EventKind.TREE_STORED)
    node = await create_tree(session, [{"id": "a", "schemas": {"method": "echo"}}], bus=bus)
    assert events == [TreeEvent(EventKind.TREE_STORED, node.task.id, tasks=1)]


async def test_task_state_events_carry_old_and_new_status_before_the_store(session, registry, bus):
    manager = TaskManager(session, registry=registry, bus=bus)
    root, second = await _two_tasks(manager.task_repository, fail_second=True)
    events = heard(bus, EventKind.TASK_STATE)
    await manager.run_tree(root.id)

    changes = [(e.task_id, e.old, e.new) for e in events]
    assert (second.id, "pending", "in_progress") in changes
    assert (second.id, "in_progress", "failed") in changes
    assert all(isinstance(e, TaskStateChanged) and e.root_id == root.id for e in events)
    assert all(e.task.id == e.task_id for e in events)


async def test_task_committed_events_come_once_per_commit(session, registry, bus):
    manager = TaskManager(session, registry=registry, bus=bus)
    root, _ = await _two_tasks(manager.task_repository)
    events = heard(bus, EventKind.TASK_COMMITTED)
    await manager.run_tree(root.id)

    assert events and all(isinstance(e, TasksCommitted) for e in events)
    assert len(events) <= 6  # per scheduling round, not per task
    last = {t.id: t.status for e in events for t in e.tasks}
    assert set(last.values()) == {"completed"}


async def test_generation_phase_and_model_call_events(registry, bus):
    from apflow.generator import generate_tree
    from apflow.llm import ScriptedClient

    tree = {"tasks": [{"id": "hello", "schemas": {"method": "echo"}, "inputs": {}}]}
    phases = heard(bus, EventKind.of_family("generate"))
    calls = heard(bus, EventKind.MODEL_CALL)
    on_event: list = []
    result = await generate_tree(
        "say hello",
        client=ScriptedClient([json.dumps(tree)]),
        registry=registry,
        bus=bus,
        on_event=on_event.append,
    )

    assert [(e.phase, e.status) for e in phases][:2] == [
        ("generate", "start"),
        ("generate", "done"),
    ]
    assert any(e.kind == EventKind.GENERATE_ATTEMPT and e.data["attempt"] == 1 for e in phases)
    assert all(isinstance(e, GenerationPhase) for e in phases)
    assert len({e.generation_id for e in phases + calls}) == 1
    # on_event keeps its form and hears the same phases.
    assert [(e.phase, e.status, e.detail) for e in on_event] == [
        (e.phase, e.status, e.detail) for e in phases
    ]
    assert type(on_event[0]).__name__ == "GenerationEvent"
    (call,) = calls
    assert isinstance(call, ModelCall) and call.model == "scripted" and call.seconds >= 0
    assert call.prompt_tokens == result.stats.prompt_tokens > 0
    assert call.completion_tokens == result.stats.completion_tokens > 0


async def test_hook_events_after_each_hook_and_a_failing_hook_still_runs_the_task(
    session, registry, bus, caplog
):
    manager = TaskManager(session, registry=registry, bus=bus)
    root, _ = await _two_tasks(manager.task_repository)
    events = heard(bus, EventKind.of_family("hook"))

    def mark(task):
        task.inputs = {**(task.inputs or {}), "marked": True}

    def broken(task, inputs, result):
        raise RuntimeError("hook bug")

    hooks.register_pre_hook(mark)
    hooks.register_post_hook(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="apflow"):
            await manager.run_tree(root.id)
    finally:
        hooks.unregister_hook(mark)
        hooks.unregister_hook(broken)

    ran = [(e.hook.rsplit(".", 1)[-1], e.stage) for e in events if e.kind == EventKind.HOOK_RAN]
    failed = [e for e in events if e.kind == EventKind.HOOK_FAILED]
    assert ran == [("mark", "pre")] * 2
    assert {e.stage for e in failed} == {"post"} and len(failed) == 2
    assert all(isinstance(e, HookEvent) and "hook bug" in e.error for e in failed)
    assert (await manager.task_repository.get_task_by_id(root.id)).inputs["marked"] is True
    assert "hook bug" in caplog.text


def test_schedule_fired_is_defined_for_future_schedules(bus):
    events = heard(bus, EventKind.SCHEDULE_FIRED)
    at = datetime(2025, 1, 1, tzinfo=UTC)
    bus.publish(ScheduleFired(schedule_id="nightly", root_id="r1", at=at))
    assert events == [ScheduleFired(schedule_id="nightly", root_id="r1", at=at)]
    assert events[0].kind == "schedule:fired"


def test_approval_events_are_defined_for_future_approvals(bus):
    events = heard(bus, EventKind.of_family("approval"))
    bus.publish(ApprovalEvent(EventKind.APPROVAL_REQUESTED, "t1", "r1"))
    bus.publish(ApprovalEvent(EventKind.APPROVAL_DECIDED, "t1", "r1", approved=True, by="ana"))
    assert [(e.kind, e.approved) for e in events] == [
        (EventKind.APPROVAL_REQUESTED, None),
        (EventKind.APPROVAL_DECIDED, True),
    ]
    with pytest.raises(ValueError, match="not a approval"):
        ApprovalEvent(EventKind.TREE_STORED, "t1")


# -- the bus's rules -------------------------------------------------------------------------


def test_subscribers_hear_only_their_kinds_and_none_means_every_kind(bus):
    trees, everything = heard(bus, [EventKind.TREE_STARTED]), heard(bus)
    bus.publish(TreeEvent(EventKind.TREE_STARTED, "r"))
    bus.publish(ModelCall(model="m"))
    assert [e.kind for e in trees] == ["tree:started"]
    assert [e.kind for e in everything] == ["tree:started", "model:call"]


def test_unknown_kinds_are_refused_with_the_known_ones(bus):
    with pytest.raises(ValueError, match="unknown event kind 'tree:done'; known: tree:stored"):
        bus.subscribe("tree:done", print)
    with pytest.raises(ValueError, match="known: approval, generate"):
        EventKind.of_family("trees")


def test_unsubscribe_stops_delivery_and_is_idempotent(bus):
    events: list = []
    unsubscribe = bus.subscribe(None, events.append)
    assert bus.listening(EventKind.MODEL_CALL)
    unsubscribe()
    unsubscribe()
    bus.publish(ModelCall())
    assert events == [] and not bus.listening(EventKind.MODEL_CALL)
    with bus.subscribed(EventKind.MODEL_CALL, events.append):
        bus.publish(ModelCall())
    bus.publish(ModelCall())
    assert len(events) == 1 and bus.subscriber_count() == 0


def test_a_failing_subscriber_is_logged_and_the_others_still_hear(bus, caplog):
    events: list = []

    def broken(event):
        raise RuntimeError("subscriber bug")

    bus.subscribe(None, broken)
    bus.subscribe(None, events.append)
    with caplog.at_level(logging.ERROR, logger="apflow"):
        bus.publish(ModelCall())  # does not raise
    assert len(events) == 1
    assert "subscriber bug" in caplog.text and "model:call" in caplog.text


async def test_async_subscribers_run_on_the_loop_and_their_failures_are_logged(bus, caplog):
    events: list = []

    async def slow(event):
        await asyncio.sleep(0.01)
        events.append(event)

    async def broken(event):
        raise RuntimeError("async subscriber bug")

    bus.subscribe(EventKind.MODEL_CALL, slow)
    bus.subscribe(EventKind.MODEL_CALL, broken)
    with caplog.at_level(logging.ERROR, logger="apflow"):
        bus.publish(ModelCall(model="m"))
        assert events == []  # scheduled, not awaited by the publisher
        await bus.drain()
    assert [e.model for e in events] == ["m"]
    assert "async subscriber bug" in caplog.text


def test_an_async_subscriber_without_a_running_loop_runs_at_once(bus):
    events: list = []

    async def record(event):
        events.append(event)

    bus.subscribe(None, record)
    bus.publish(ModelCall())
    assert len(events) == 1


def test_a_child_bus_passes_every_event_to_its_parent_after_its_own_subscribers(bus):
    order: list[str] = []
    child = EventBus(parent=bus)
    bus.subscribe(None, lambda e: order.append("parent"))
    child.subscribe(None, lambda e: order.append("child"))
    assert child.listening(EventKind.MODEL_CALL)
    child.publish(ModelCall())
    bus.publish(ModelCall())
    assert order == ["child", "parent", "parent"]


async def test_use_bus_scopes_the_current_bus_so_subscribers_do_not_leak(session, registry, bus):
    assert current_bus() is PROCESS_BUS
    before = PROCESS_BUS.subscriber_count()
    with use_bus(bus):
        assert current_bus() is bus
        manager = TaskManager(session, registry=registry)  # no bus=: the current one
        root, _ = await _two_tasks(manager.task_repository)
        events = heard(bus, EventKind.TREE_FINISHED)
        await manager.run_tree(root.id)
    assert current_bus() is PROCESS_BUS
    assert [e.root_id for e in events] == [root.id]
    assert PROCESS_BUS.subscriber_count() == before


async def test_on_state_change_hears_only_its_own_managers_run(session, registry, bus):
    seen_a: list = []
    seen_b: list = []
    a = TaskManager(
        session, registry=registry, bus=bus, on_state_change=lambda t, o, n: seen_a.append(t.id)
    )
    b = TaskManager(
        session, registry=registry, bus=bus, on_state_change=lambda t, o, n: seen_b.append(t.id)
    )
    everything = heard(bus, EventKind.TASK_STATE)
    root_a, _ = await _two_tasks(a.task_repository)
    root_b, _ = await _two_tasks(b.task_repository)
    await a.run_tree(root_a.id)
    await b.run_tree(root_b.id)
    assert root_a.id in seen_a and root_a.id not in seen_b
    assert root_b.id in seen_b and root_b.id not in seen_a
    assert len(everything) == len(seen_a) + len(seen_b)


async def test_cancel_through_the_database_publishes_state_and_commit_events(
    session, registry, bus
):
    manager = TaskManager(session, registry=registry, bus=bus)
    root, second = await _two_tasks(manager.task_repository)
    events = heard(bus)
    assert await manager.cancel(root.id) == 2
    states = [(e.task_id, e.old, e.new) for e in events if e.kind == EventKind.TASK_STATE]
    assert sorted(states) == sorted((t.id, "pending", "cancelled") for t in (root, second))
    (committed,) = [e for e in events if e.kind == EventKind.TASK_COMMITTED]
    assert {t.id for t in committed.tasks} == {root.id, second.id}
