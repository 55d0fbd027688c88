"""``apflow generate "REQUIREMENT"``: plain English in, a validated task tree out (and run)."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from apflow.cli.app import app
from apflow.cli.common import console, fail, handle_errors, out, print_json, run_async
from apflow.cli.progress import GenerationProgress
from apflow.cli.views import spec_tree
from apflow.cli.watch import TreeOutcome, interrupted, pick_display, report, run_tree
from apflow.core.bus import EventBus, EventKind, current_bus
from apflow.core.errors import GenerationError

TREES_DIR = Path(".apflow") / "trees"


def _mode_option(value: str) -> str:
    """Either spelling of single-shot or multi-phase; anything else is a usage error (2)."""
    from apflow.generator.result import GenerationMode

    offered = (GenerationMode.SINGLE_SHOT, GenerationMode.MULTI_PHASE)
    if value not in GenerationMode.spellings(*offered):
        raise typer.BadParameter(f"{value!r} is not one of: single-shot, multi-phase")
    return GenerationMode.parse(value).value


def default_path(requirement: str) -> Path:
    """``.apflow/trees/<first words>-<UTC time>.json``: never overwrites a user's file."""
    slug = "-".join(re.findall(r"[a-z0-9]+", requirement.lower())[:5])[:40] or "tree"
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return TREES_DIR / f"{slug}-{stamp}.json"


def write_tree(tasks: list[dict[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tasks, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def explain_failure(exc: GenerationError) -> None:
    """A generation that never validated: its remaining issues, one per line."""
    for issue in list(exc.issues)[:10]:
        line = issue.line() if hasattr(issue, "line") else str(issue)
        console.print(f"  [red]-[/] {escape(line)}", highlight=False)


async def generate_with_progress(
    requirement: str,
    *,
    mode: str,
    model: str | None,
    executors: list[str] | None,
    show_progress: bool,
) -> tuple[Any, GenerationProgress]:
    """Run the generator with the live progress line; returns the result and the counters."""
    from apflow.generator import generate_tree
    from apflow.llm import get_client
    from apflow.llm.base import CountingClient

    client = CountingClient(get_client(model))
    progress = GenerationProgress(console, client, enabled=show_progress)
    bus = EventBus(parent=current_bus(), name="apflow generate")
    with progress, bus.subscribed(EventKind.of_family("generate"), progress.on_event):
        result = await generate_tree(
            requirement, mode=mode, client=client, executors=executors, bus=bus
        )
    return result, progress


def read_requirement(requirement: str | None, file: Path | None) -> str:
    """The requirement from the argument, ``-`` (stdin) or ``--file``, read up to the limit.

    Why: a long requirement cannot be an argument (the OS refuses a 1 MB argv), and a file or
    pipe of any size must not be read whole just to be refused.
    """
    from apflow.core.settings import settings

    if (requirement is None) == (file is None):
        raise fail(
            "give the requirement once: as an argument, as - (read stdin) or with --file",
            'apflow generate "fetch a page and summarise it"  |  apflow generate --file '
            "req.txt  |  cat req.txt | apflow generate -",
            code=2,
        )
    limit = settings().max_requirement_chars
    if file is not None:
        if file.is_dir():
            raise GenerationError(f"{file} is a directory", hint="pass a text file")
        with file.open(encoding="utf-8", errors="strict") as handle:
            try:
                text = handle.read(limit + 1)
            except UnicodeDecodeError:
                raise GenerationError(
                    f"{file} is not UTF-8 text", hint="save the requirement as UTF-8"
                ) from None
    elif requirement == "-":
        text = sys.stdin.read(limit + 1)
    else:
        return requirement  # generate_tree checks it and says how long it is
    if len(text) > limit:
        raise GenerationError(
            f"the requirement is longer than {limit:,} characters (APFLOW_MAX_REQUIREMENT_CHARS)",
            hint="describe the workflow itself, not the data it works on (pass data as task "
            "inputs or URLs), or raise APFLOW_MAX_REQUIREMENT_CHARS",
        )
    return text


@app.command()
@handle_errors
def generate(
    requirement: Annotated[
        str | None,
        typer.Argument(help="The workflow, in plain English; - reads it from stdin"),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="Read the requirement from this text file"),
    ] = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="How to generate: single-shot or multi-phase (single_shot, multi_phase too)",
            callback=_mode_option,
        ),
    ] = "single-shot",
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="local, provider/model or scripted:FILE (APFLOW_MODEL)"),
    ] = None,
    executors: Annotated[
        str | None, typer.Option("--executors", help="Comma-separated executor ids to allow")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the tree here (JSON)")
    ] = None,
    run: Annotated[bool, typer.Option("--run", help="Store and run the tree")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only")] = False,
) -> None:
    """Generate a validated task tree from a requirement, write it to a file, optionally run it."""
    requirement = read_requirement(requirement, file)
    allow = [e.strip() for e in executors.split(",") if e.strip()] if executors else None
    try:
        result, progress = run_async(
            generate_with_progress(
                requirement,
                mode=mode,
                model=model,
                executors=allow,
                show_progress=not as_json,
            )
        )
    except GenerationError as exc:
        explain_failure(exc)
        raise
    tasks = result.tree.to_list()
    path = write_tree(tasks, output or default_path(requirement))
    if not as_json:
        console.print(f"[green]{progress.summary()}[/]", highlight=False)
        out.print(spec_tree(result.tree))
        for fix in result.fixes:
            console.print(f"  [yellow]fixed:[/] {escape(fix)}", highlight=False)
        for warning in result.warnings:
            console.print(f"  [bold yellow]check:[/] {escape(warning)}", highlight=False)
        console.print(f"tree written to [bold]{escape(str(path))}[/]", highlight=False)
    outcome = TreeOutcome()
    code = 0
    if run:
        try:
            run_async(run_tree(outcome, spec=result.tree, display=pick_display(as_json)))
        except KeyboardInterrupt:
            interrupted(outcome)
            raise typer.Exit(130) from None
        if not as_json:
            code = report(outcome, as_json=False)
        else:
            code = 0 if outcome.root and outcome.root.status == "completed" else 1
    elif not as_json:
        console.print(f"[dim]next: apflow run {escape(str(path))}[/]", highlight=False)
    if as_json:
        payload = {**result.to_dict(), "path": str(path)}
        if run and outcome.root is not None:
            payload["run"] = {
                "root_id": outcome.root.id,
                "status": outcome.root.status,
                "result": outcome.root.result,
            }
        print_json(payload)
    raise typer.Exit(code)
