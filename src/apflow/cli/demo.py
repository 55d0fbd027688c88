"""``apflow demo``: build a small tree in SQLite and run it, printing statuses.

The generator-backed demo replaces this once the generator lands.
"""

from __future__ import annotations

from apflow.cli.app import app
from apflow.cli.common import handle_errors, out, run_async, state


async def _demo(db: str | None) -> None:
    from apflow.core import TaskManager, TaskTreeNode, create_session

    session = create_session(db)
    manager = TaskManager(
        session,
        on_state_change=lambda task, old, new: out.print(f"  {task.name:<28} {old:>11} -> {new}"),
    )
    repo = manager.task_repository
    root = await repo.create_task(
        name="demo report", schemas={"method": "aggregate_results_executor"}
    )
    users = await repo.create_task(
        name="aggregate_results_executor", parent_id=root.id, inputs={"users": ["ada", "linus"]}
    )
    orders = await repo.create_task(
        name="aggregate_results_executor", parent_id=root.id, inputs={"orders": [1, 2, 3]}
    )
    await repo.update_task(root.id, dependencies=[users.id, orders.id])
    node = TaskTreeNode(root)
    node.add_child(TaskTreeNode(users))
    node.add_child(TaskTreeNode(orders))
    out.print("[bold]Running a 3-task tree[/]")
    await manager.distribute_task_tree(node)
    out.print(f"root {root.id}: {root.status}")
    out.print(root.result_meta)
    await session.close()


@app.command()
@handle_errors
def demo() -> None:
    """Run a small demo tree (stored in the --db database)."""
    run_async(_demo(state.db))
