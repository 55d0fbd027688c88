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


async def test_a_finished_task_of_another_tree_cannot_be_read(manager, session, repo, recorder):
    """Issue 15, item 10: a dependency gives its result to the task, so it must stay inside
    the tree (before, a finished task of any tree could be depended on and read)."""
    outsider = await repo.create_task(name="outsider", schemas={"method": "echo"})
    await repo.update_task(outsider.id, status="in_progress")
    await repo.update_task(outsider.id, status="completed", result={"secret": 9})
    root, (a,) = await _tasks(repo, 1)
    await repo.update_task(
        a.id, dependencies=[outsider.id], inputs={"v": f"${{{outsider.id}.result.secret}}"}
    )
    err = await _refused(manager, session, root.id)
    assert "outside this tree" in str(err)
    assert recorder.names() == []


async def test_storage_refuses_a_dependency_on_another_tree(repo, session):
    from apflow.core.errors import ApflowError

    root_a, (a1,) = await _tasks(repo, 1)
    root_b, (b1,) = await _tasks(repo, 1)
    before = await snapshot(session)
    with pytest.raises(ApflowError, match="a task of another tree") as err:
        await repo.create_task(name="thief", parent_id=root_b.id, dependencies=[a1.id])
    assert root_a.id in str(err.value) and err.value.hint
    with pytest.raises(ApflowError, match="a task of another tree"):
        await repo.update_task(b1.id, dependencies=[a1.id])
    with pytest.raises(ApflowError, match="a task of another tree"):  # a root of another tree
        await repo.update_task(b1.id, dependencies=[root_a.id])
    with pytest.raises(ApflowError, match="a task of another tree"):
        await repo.create_tasks(
            [
                {"id": "new-root", "name": "r", "dependencies": ["new-child"]},
                {"id": "new-child", "name": "c", "parent_id": "new-root", "dependencies": [a1.id]},
            ]
        )
    assert await snapshot(session) == before, "nothing refused may be stored"
    # Inside one tree, and between lone tasks not yet placed in a tree, all is allowed.
    await repo.create_task(name="sibling", parent_id=root_a.id, dependencies=[a1.id])
    lone = await repo.create_task(name="primary")
    await repo.create_task(name="fallback", dependencies=[{"id": lone.id, "required": False}])


async def test_unknown_root_raises_task_not_found(manager):
    from apflow.core.errors import TaskNotFound

    with pytest.raises(TaskNotFound, match="nope"):
        await manager.run_tree("nope")
