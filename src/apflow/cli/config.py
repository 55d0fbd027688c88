"""``apflow config``: the effective settings and where each one comes from."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from apflow.cli.app import app
from apflow.cli.common import handle_errors, out, print_json, state

config_app = typer.Typer(
    help="Show apflow's settings (APFLOW_* variables, apflow.toml, defaults).",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")


@config_app.command("show")
@handle_errors
def show_config(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only")] = False,
) -> None:
    """Print every setting with its value and source (env, config file, default, --db);
    tokens and the passwords in URLs are masked."""
    from apflow.core.settings import describe_settings, masked

    described = describe_settings()
    if state.db:  # the global --db beats APFLOW_DATABASE_URL for this command line
        for row in described["settings"]:
            if row["name"] == "database_url":
                row.update(value=masked(state.db), source="--db")
    if as_json:
        print_json(described)
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("setting", style="cyan", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("source", no_wrap=True)
    for row in described["settings"]:
        value = "[dim]unset[/]" if row["value"] is None else escape(json.dumps(row["value"]))
        source = row["source"]
        table.add_row(
            escape(row["env"]),
            value,
            f"[bold]{source}[/]" if source != "default" else "[dim]default[/]",
        )
    out.print(table)
    shown = described["config_file"] or "none (set APFLOW_CONFIG, or create ./apflow.toml)"
    out.print(f"[dim]config file: {escape(shown)}; docs/configuration.md describes each[/]")
