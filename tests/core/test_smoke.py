from apflow import TaskManager, TaskTreeNode, create_session


async def test_a_three_task_tree_runs_to_completion():
    session = create_session()
    manager = TaskManager(session)
    repo = manager.task_repository
    root = await repo.create_task(name="root", schemas={"method": "aggregate_results_executor"})
    a = await repo.create_task(
        name="aggregate_results_executor", parent_id=root.id, inputs={"x": 1}
    )
    await repo.update_task(root.id, dependencies=[a.id])
    node = TaskTreeNode(root)
    node.add_child(TaskTreeNode(a))
    await manager.distribute_task_tree(node)
    stored = await repo.get_task_by_id(root.id)
    assert stored.status == "completed"
    assert stored.result == {a.id: {}}
    assert stored.result_meta["summary"]["completed"] == 1
    await session.close()
