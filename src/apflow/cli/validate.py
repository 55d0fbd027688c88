"""``apflow validate FILE``: check a tree file without storing or running anything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from apflow.cli.app import app
from apflow.cli.common import console, fail, handle_errors, out, print_json

_ISSUE_FIELDS = ("code", "task_id", "path", "message", "hint")


def issue_dicts(report: Any) -> list[dict[str, Any]]:
    """The report's issues in the documented ``--json`` shape."""
    return [{k: getattr(i, k, None) for k in _ISSUE_FIELDS} for i in report.issues]


def print_issues(report: Any, source: str) -> None:
    """Every issue on stderr: code, task id, where, what is wrong and the hint."""
    n = len(report.issues)
    console.print(f"[bold red]x[/] {escape(source)}: {n} issue{'s' if n != 1 else ''}")
    for issue in report.issues:
        where = f"task [cyan]{escape(issue.task_id)}[/]" if issue.task_id else "tree"
        at = f" [dim]at {escape(issue.path)}[/]" if issue.path else ""
        console.print(f"  [bold red]{issue.code}[/] {where}{at}", highlight=False)
        console.print(f"    {escape(issue.message)}", highlight=False)
        if issue.hint:
            console.print(f"    [green]hint:[/] {escape(issue.hint)}", highlight=False)


def read_tree_text(path: str) -> str:
    """The file's text; a missing file is one clear error (bad JSON is the validator's job)."""
    p = Path(path)
    if not p.is_file():
        what = "a directory" if p.is_dir() else "not found"
        raise fail(f"{path}: {what}", "pass the path of a JSON task-tree file")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail(f"{path} is not a UTF-8 text file", "pass a JSON task-tree file") from None


@app.command()
@handle_errors
def validate(
    file: Annotated[str, typer.Argument(help="Task tree JSON file (a list or {'tasks': [...]})")],
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"valid", "issues"} JSON only')
    ] = False,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Apply the deterministic repairs (root, parents, dependency forms, ...) and "
            "write the tree back (or to -o); what needs judgement is still reported",
        ),
    ] = False,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="With --fix: write here instead of FILE")
    ] = None,
) -> None:
    """Check a task tree: exit 0 when valid, 1 with every issue listed when not."""
    from apflow.spec import validate_tree

    text = read_tree_text(file)
    report = validate_tree(text)
    fixes: list[str] = []
    if fix and not report.valid and report.spec is not None:
        from apflow.spec import repair_tree

        repaired, fixes = repair_tree(report.spec, report)
        if fixes:
            target = output or file
            Path(target).write_text(json.dumps(repaired.to_list(), indent=2) + "\n")
            report = validate_tree(repaired)
            for line in fixes:
                console.print(f"[green]fixed:[/] {escape(line)}", highlight=False)
            console.print(f"wrote {escape(target)}")
            file = target
    if as_json:
        payload: dict[str, Any] = {"valid": report.valid, "issues": issue_dicts(report)}
        if fix:
            payload["fixes"] = fixes
        print_json(payload)
    elif report.valid:
        count = len(report.spec.tasks) if getattr(report, "spec", None) is not None else None
        tasks = f" ({count} tasks)" if count is not None else ""
        out.print(f"[bold green]ok[/] {escape(file)} is a valid task tree{tasks}")
    else:
        print_issues(report, file)
    if not report.valid:
        raise typer.Exit(1)
