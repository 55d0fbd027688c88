"""An aggregator root built with ``add_child`` alone aggregates (issue 23, item 2): declaring
no dependencies, it depends on every other task of its tree, and the tree view says so."""

from __future__ import annotations

from apflow import TaskTreeNode, create_task, render_tree
from apflow.executors.aggregate import AggregateResultsExecutor
from tests.core.conftest import stored


def _tree(*children):
    root = TaskTreeNode(create_task(name="root", executor="aggregate_results_executor"))
    for child in children:
        root.add_child(TaskTreeNode(child))
    return root


async def test_a_root_without_dependencies_waits_for_its_children(manager, repo, registry):
    registry.register(AggregateResultsExecutor)
    task1 = create_task(name="fetch_data_1", executor="echo", inputs={"sleep": 0.05})
    task2 = create_task(name="fetch_data_2", executor="echo")
    root = _tree(task1, task2)
    await manager.distribute_task_tree(root)
    row = await stored(repo, root.task.id)
    assert row.status == "completed"
    assert row.result == {task1.id: "fetch_data_1", task2.id: "fetch_data_2"}
    assert row.result_meta["statuses"] == {task1.id: "completed", task2.id: "completed"}
    assert row.started_at >= (await stored(repo, task1.id)).completed_at
    assert row.dependencies == [
        {"id": task1.id, "required": True},
        {"id": task2.id, "required": True},
    ]


async def test_a_failed_child_fails_the_aggregating_root(manager, repo, registry):
    registry.register(AggregateResultsExecutor)
    ok = create_task(name="ok", executor="echo")
    bad = create_task(name="bad", executor="fail")
    root = _tree(ok, bad)
    await manager.distribute_task_tree(root)
    row = await stored(repo, root.task.id)
    assert (row.status, row.error_type) == ("failed", "dependency_failed")
    assert row.result == {ok.id: "ok"} and row.result_meta["errors"] == {bad.id: "it broke"}


async def test_declared_dependencies_are_the_ones_that_count(manager, repo, registry, recorder):
    registry.register(AggregateResultsExecutor)
    first = create_task(name="first", executor="echo")
    other = create_task(name="other", executor="echo", inputs={"sleep": 0.2})
    root = TaskTreeNode(
        create_task(name="root", executor="aggregate_results_executor", dependencies=[first])
    )
    root.add_child(TaskTreeNode(first))
    root.add_child(TaskTreeNode(other))
    await manager.distribute_task_tree(root)
    row = await stored(repo, root.task.id)
    assert row.result == {first.id: "first"}
    assert row.dependencies == [{"id": first.id, "required": True}]
    assert row.completed_at <= (await stored(repo, other.id)).completed_at


def test_the_tree_view_shows_the_implied_dependencies():
    a = create_task(name="a", executor="echo", id="a")
    b = create_task(
        name="b", executor="echo", id="b", dependencies=[{"id": "a", "required": False}]
    )
    root = _tree(a, b)
    text = render_tree(root)
    assert "after (implied): a (optional), b" in text.splitlines()[0]
    assert "after (implied)" not in render_tree(_tree_with_echo_root(a))


def _tree_with_echo_root(child):
    root = TaskTreeNode(create_task(name="plain", executor="echo"))
    root.add_child(TaskTreeNode(child))
    return root
