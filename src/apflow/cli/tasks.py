"""``apflow tasks``: list, inspect and cancel stored tasks."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from apflow.cli.app import app
from apflow.cli.common import handle_errors, out, print_json, run_async, state
from apflow.cli.views import duration, fmt_seconds, short_json, status_text, task_summary
from apflow.core.states import TaskStatus

tasks_app = typer.Typer(help="List, inspect and cancel stored tasks.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")

_STATUSES = ", ".join(s.value for s in TaskStatus)


@tasks_app.command("list")
@handle_errors
def list_tasks(
    status: Annotated[
        str | None, typer.Option("--status", "-s", help=f"Only this status ({_STATUSES})")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this user id")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most N rows")] = 20,
    all_tasks: Annotated[
        bool, typer.Option("--all", help="Every task, not only the roots of trees")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only")] = False,
) -> None:
    """List stored trees (their roots), newest first."""
    if status is not None and status not in {s.value for s in TaskStatus}:
        raise typer.BadParameter(f"unknown status {status!r}; use one of {_STATUSES}")

    async def load():
        from apflow.service import Service

        return await Service(state.db).list_tasks(
            status=status, user_id=user, roots_only=not all_tasks, limit=limit
        )

    rows = run_async(load())
    if as_json:
        print_json([{**task_summary(t), "created_at": t.created_at.isoformat()} for t in rows])
        return
    if not rows:
        out.print("[dim]no tasks stored yet; try `apflow demo` or `apflow run tree.json`[/]")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("name", min_width=12, overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("created UTC", no_wrap=True)
    for t in rows:
        table.add_row(
            t.id, escape(t.name), status_text(t.status), t.created_at.strftime("%m-%d %H:%M")
        )
    out.print(table)


@tasks_app.command("show")
@handle_errors
def show_task(
    task_id: Annotated[str, typer.Argument(help="A stored task id")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only")] = False,
) -> None:
    """Show one stored task: status, inputs, result or error."""

    async def load():
        from apflow.service import Service

        return await Service(state.db).get_task(task_id)

    task, children = run_async(load())
    if as_json:
        print_json({**task.to_dict(), "children": [c.id for c in children]})
        return
    out.print(f"[bold]{escape(task.name)}[/] [dim]{task.id}[/]")
    out.print(f"  executor   {escape(task.executor_id)}")
    out.print(f"  status     {status_text(task.status)}  {fmt_seconds(duration(task))}")
    if task.parent_id:
        out.print(f"  parent     {task.parent_id}")
    if task.dependencies:
        deps = ", ".join(
            d["id"] + ("" if d.get("required", True) else " (optional)") for d in task.dependencies
        )
        out.print(f"  depends on {escape(deps)}")
    if children:
        out.print(f"  children   {len(children)} (apflow show {task.id})")
    out.print(f"  attempts   {task.attempts}")
    out.print("[bold]inputs[/]")
    out.print(escape(short_json(task.inputs or {})))
    if task.error:
        out.print(f"[bold red]error[/] ({escape(task.error_type or '')}): {escape(task.error)}")
    if task.result is not None:
        out.print("[bold]result[/]")
        out.print(escape(short_json(task.result)))
    if task.result_meta:
        out.print(escape(short_json(task.result_meta)))


@tasks_app.command("cancel")
@handle_errors
def cancel_tree(
    root_id: Annotated[str, typer.Argument(help="Root id of the tree to cancel")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only")] = False,
) -> None:
    """Cancel a tree: unfinished tasks are marked cancelled (a running engine stops them)."""

    async def cancel() -> int:
        from apflow.service import Service

        return (await Service(state.db).cancel(root_id)).cancelled

    count = run_async(cancel())
    if as_json:
        print_json({"root_id": root_id, "cancelled": count})
        return
    if count:
        out.print(f"cancelled {count} unfinished task(s) of tree {root_id}")
    else:
        out.print(f"nothing to cancel: every task of tree {root_id} had already finished")
