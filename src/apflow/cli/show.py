"""``apflow show FILE|ROOT_ID``: a tree as a rich view, Mermaid source or JSON."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from apflow.cli.app import app
from apflow.cli.common import (
    console,
    handle_errors,
    out,
    print_json,
    run_async,
    state,
)
from apflow.cli.validate import file_report, print_issues
from apflow.cli.views import spec_tree, stored_tree


class Format(StrEnum):
    text = "text"
    mermaid = "mermaid"
    json = "json"


async def _load_stored(root_id: str) -> Any:
    from apflow.core import TaskTreeNode
    from apflow.service import Service

    return TaskTreeNode.from_tasks(await Service(state.db).load(root_id), root_id)


def _load_spec(file: str) -> Any:
    report = file_report(file, one_line_json_errors=True)
    if report.spec is None:  # does not even parse as a tree: nothing to draw
        print_issues(report, file)
        raise typer.Exit(1)
    if not report.valid:
        n = len(report.issues)
        console.print(
            f"[yellow]warning:[/] {escape(file)} has {n} issue{'s' if n != 1 else ''}; "
            f"`apflow validate {escape(file)}` lists them",
            highlight=False,
        )
    return report.spec


@app.command()
@handle_errors
def show(
    target: Annotated[str, typer.Argument(help="A task tree JSON file, or a stored root id")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format")] = Format.text,
) -> None:
    """Show a tree file, or a stored tree with statuses."""
    from apflow.spec import render_tree

    if Path(target).exists() or target.endswith(".json"):
        spec = _load_spec(target)
        if fmt is Format.text:
            out.print(spec_tree(spec))
        elif fmt is Format.json:
            print_json(spec.to_list())
        else:
            out.print(render_tree(spec, fmt="mermaid"), markup=False, highlight=False)
        return
    node = run_async(_load_stored(target))
    if fmt is Format.text:
        out.print(stored_tree(node))
    elif fmt is Format.json:
        print_json([n.task.to_dict() for n in node.walk()])
    else:
        out.print(render_tree(node, fmt="mermaid"), markup=False, highlight=False)
