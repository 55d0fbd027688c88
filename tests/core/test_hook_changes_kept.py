"""The guide's Hooks §2 "Remember" list, point by point (issue 23, item 3): inputs changed
by one pre-hook survive any repository read before the next hook, reach the executor and
are stored; other fields change through the repository; all hooks share one session."""

from __future__ import annotations

import pytest

from apflow import get_hook_repository, register_post_hook, register_pre_hook
from apflow.core.hooks import clear_hooks

from .conftest import stored


@pytest.fixture(autouse=True)
def no_hooks_left():
    yield
    clear_hooks()


async def test_the_remember_list_holds(manager, repo, recorder):
    other = await repo.create_task(name="other", schemas={"method": "echo"})
    task = await repo.create_task(
        name="hooked", schemas={"method": "echo"}, parent_id=other.id, inputs={"given": 1}
    )
    seen_by_b: list[dict] = []
    sessions: list = []

    @register_pre_hook
    async def hook_a(task):
        sessions.append(get_hook_repository().session)
        if task.name == "hooked":
            task.inputs["from_a"] = "a"  # in place
            await get_hook_repository().get_task_by_id(task.id)  # a read inside the hook

    @register_pre_hook
    async def hook_b(task):
        repo_b = get_hook_repository()
        sessions.append(repo_b.session)
        if task.name != "hooked":
            return
        # Reads in between: the task itself, a query that loads it, its tree.
        fresh = await repo_b.get_task_by_id(task.id)
        await repo_b.get_tasks_by_status("in_progress")
        await repo_b.get_tree(other.id)
        seen_by_b.append(dict(fresh.inputs))
        task.inputs = {**task.inputs, "from_b": "b"}  # replaced, not changed in place
        await repo_b.update_task(task.id, priority=0)  # other fields: through the repository

    @register_pre_hook
    async def hook_c(task):
        sessions.append(get_hook_repository().session)
        if task.name == "hooked":
            await get_hook_repository().get_task_by_id(task.id)

    post_inputs: list[dict] = []

    @register_post_hook
    async def post(task, inputs, result):
        sessions.append(get_hook_repository().session)
        if task.name == "hooked":
            post_inputs.append(dict(inputs))

    await manager.run_tree(other.id)

    expected = {"given": 1, "from_a": "a", "from_b": "b"}
    assert seen_by_b == [{"given": 1, "from_a": "a"}]  # changes by A, seen by B
    assert recorder.inputs_of("hooked") == expected  # reach the executor
    assert post_inputs == [expected]
    row = await stored(repo, task.id)
    assert row.inputs == expected  # stored, with no explicit save
    assert row.priority == 0 and row.status == "completed"
    assert sessions and all(s is manager.session for s in sessions)  # one shared session
