"""``apflow executors``: what a tree can use, with input schemas."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from apflow.cli.app import app
from apflow.cli.common import handle_errors, out, print_json
from apflow.cli.views import short_json

executors_app = typer.Typer(
    help="List registered executors and their schemas.", no_args_is_help=True
)
app.add_typer(executors_app, name="executors")


@executors_app.command("list")
@handle_errors
def list_executors(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only")] = False,
) -> None:
    """List every registered executor (built-ins and plugins)."""
    from apflow.core.registry import default_registry

    described = [default_registry.describe(i) for i in sorted(default_registry.ids())]
    if as_json:
        print_json(described)
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("inputs", max_width=22)
    table.add_column("description", ratio=1, overflow="fold")
    for d in described:
        props = (d.get("input_schema") or {}).get("properties") or {}
        required = set((d.get("input_schema") or {}).get("required") or [])
        fields = ", ".join(f"{k}*" if k in required else k for k in props)
        table.add_row(d["id"], escape(fields), escape(d.get("description") or ""))
    out.print(table)
    out.print("[dim]* required input; `apflow executors show ID` prints the full schema[/]")


@executors_app.command("show")
@handle_errors
def show_executor(
    executor_id: Annotated[str, typer.Argument(help="Executor id, e.g. rest_executor")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only")] = False,
) -> None:
    """Show one executor's description and input schema."""
    from apflow.core.registry import default_registry

    described = default_registry.describe(executor_id)
    if as_json:
        print_json(described)
        return
    out.print(f"[bold cyan]{escape(described['id'])}[/]  {escape(described.get('name') or '')}")
    out.print(escape(described.get("description") or ""))
    effects = described.get("effects")
    note = described.get("effects_note") or ""
    shown = {"read": "read (no side effects)", "write": "write (has side effects)"}.get(
        effects or "", "not declared (the generator imposes no order for it)"
    )
    out.print(f"[bold]effects:[/] {escape(note or shown)}", highlight=False)
    out.print("[bold]input schema[/]")
    out.print(escape(short_json(described.get("input_schema") or {}, limit=20000)))
    if described.get("output_schema"):
        out.print("[bold]output schema[/]")
        out.print(escape(short_json(described["output_schema"], limit=20000)))
