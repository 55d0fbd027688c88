"""Trees that cannot run are refused before anything executes or changes."""

from __future__ import annotations

import pytest

from apflow.core.errors import TaskTreeError
from apflow.core.tree import TaskTreeNode

from .conftest import snapshot


async def _tasks(repo, n: int, **common):
    root = await repo.create_task(name="root", schemas={"method": "echo"}, **common)
    rest = [
        await repo.create_task(name=f"t{i}", schemas={"method": "echo"}, parent_id=root.id)
        for i in range(n)
    ]
    return root, rest


async def _refused(manager, session, root_id) -> TaskTreeError:
    before = await snapshot(session)
    with pytest.raises(TaskTreeError) as err:
        await manager.run_tree(root_id)
    assert await snapshot(session) == before, "a refused tree must leave the DB untouched"
    return err.value


async def test_cycle_self_dependency_and_missing_dependency_all_reported(
    manager, session, repo, recorder
):
    root, (a, b, c, d, downstream) = await _tasks(repo, 5)
    await repo.update_task(a.id, dependencies=[b.id])
    await repo.update_task(b.id, dependencies=[a.id])  # a <-> b
    await repo.update_task(c.id, dependencies=[c.id])  # self
    await repo.update_task(d.id, dependencies=["no-such-task", "also-missing"])
    await repo.update_task(downstream.id, dependencies=[a.id])  # blocked, not a culprit
    err = await _refused(manager, session, root.id)
    text = str(err)
    for offender in (a.id, b.id, c.id, "no-such-task", "also-missing"):
        assert offender in text
    assert downstream.id not in text
    assert len(err.problems) == 4  # self, 2 x missing, 1 cycle line
    cycle = next(p for p in err.problems if "cycle" in p)
    assert a.id in cycle and b.id in cycle and c.id not in cycle
    assert "nothing was executed" in text
    assert recorder.names() == []


async def test_long_cycle_is_named_completely(manager, session, repo):
    root, tasks = await _tasks(repo, 4)
    for i, task in enumerate(tasks):
        await repo.update_task(task.id, dependencies=[tasks[(i + 1) % 4].id])
    err = await _refused(manager, session, root.id)
    assert all(t.id in err.problems[0] for t in tasks)
    assert root.id not in str(err)


async def test_distribute_task_tree_refuses_too_and_stores_nothing(manager, session, repo):
    root, (a, b) = await _tasks(repo, 2)
    await repo.update_task(a.id, dependencies=[b.id])
    await repo.update_task(b.id, dependencies=[a.id])
    node = TaskTreeNode(root)
    node.add_child(TaskTreeNode(a))
    node.add_child(TaskTreeNode(b))
    before = await snapshot(session)
    with pytest.raises(TaskTreeError):
        await manager.distribute_task_tree(node)
    assert await snapshot(session) == before


async def test_dependency_on_an_unfinished_task_outside_the_tree_is_refused(manager, session, repo):
    outsider = await repo.create_task(name="outsider", schemas={"method": "echo"})
    root, (a,) = await _tasks(repo, 1)
    await repo.update_task(a.id, dependencies=[outsider.id])
    err = await _refused(manager, session, root.id)
    assert outsider.id in str(err) and "outside this tree" in str(err)


async def test_dependency_on_a_finished_task_outside_the_tree_is_allowed(manager, repo, recorder):
    outsider = await repo.create_task(name="outsider", schemas={"method": "echo"})
    await repo.update_task(outsider.id, status="in_progress")
    await repo.update_task(outsider.id, status="completed", result={"v": 9})
    root, (a,) = await _tasks(repo, 1)
    await repo.update_task(
        a.id, dependencies=[outsider.id], inputs={"v": f"${{{outsider.id}.result.v}}"}
    )
    await manager.run_tree(root.id)
    assert recorder.inputs_of("t0")["v"] == 9


async def test_unknown_root_raises_task_not_found(manager):
    from apflow.core.errors import TaskNotFound

    with pytest.raises(TaskNotFound, match="nope"):
        await manager.run_tree("nope")
