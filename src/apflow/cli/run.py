"""``apflow run FILE | --task ROOT_ID``: validate, store and run a tree, or resume a stored one."""

from __future__ import annotations

from typing import Annotated

import typer

from apflow.cli.app import app
from apflow.cli.common import fail, handle_errors, print_json, run_async, state
from apflow.cli.validate import file_report, issue_dicts, print_issues
from apflow.cli.watch import TreeOutcome, interrupted, pick_display, report, run_tree


@app.command()
@handle_errors
def run(
    file: Annotated[str | None, typer.Argument(help="Task tree JSON file to store and run")] = None,
    task: Annotated[
        str | None, typer.Option("--task", "-t", help="Resume the stored tree with this root id")
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL or SQLite path")] = None,
    max_concurrency: Annotated[
        int | None, typer.Option("--max-concurrency", "-c", min=1, help="Tasks running at once")
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="Run executors on a Dask cluster: tcp://host:8786, or local:N for N local "
            "worker processes (default: APFLOW_DASK_ADDRESS, else this process); "
            "needs apflow[dask]",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON only")] = False,
) -> None:
    """Run a task tree. Invalid trees are refused with every issue listed; nothing is stored."""
    if (file is None) == (task is None):
        raise fail("give either a tree FILE or --task ROOT_ID", "apflow run tree.json", code=2)
    if db is not None:
        state.db = db
    spec = None
    if file is not None:
        validation = file_report(file, one_line_json_errors=True)
        if not validation.valid:
            if as_json:
                print_json({"valid": False, "issues": issue_dicts(validation)})
            else:
                print_issues(validation, file)
                typer.echo("nothing was stored or run; fix the issues and retry", err=True)
            raise typer.Exit(1)
        spec = validation.spec
    outcome = TreeOutcome()
    try:
        run_async(
            run_tree(
                outcome,
                spec=spec,
                root_id=task,
                max_concurrency=max_concurrency,
                display=pick_display(as_json),
                cluster=cluster,
            )
        )
    except KeyboardInterrupt:
        interrupted(outcome)
        raise typer.Exit(130) from None
    raise typer.Exit(report(outcome, as_json=as_json))
