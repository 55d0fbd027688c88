"""``apflow validate FILE``: check a tree file without storing or running anything."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from apflow.cli.app import app
from apflow.cli.common import console, fail, handle_errors, out, print_json

_ISSUE_FIELDS = ("code", "task_id", "path", "message", "hint")
#: Issues printed one by one on a terminal; the rest are counted (``--json`` lists them all).
SHOWN_ISSUES = 50


def issue_dicts(report: Any, kind: str = "issues") -> list[dict[str, Any]]:
    """The report's issues (or ``kind="warnings"``) in the documented ``--json`` shape."""
    listed = getattr(report, kind, None) or []
    return [{k: getattr(i, k, None) for k in _ISSUE_FIELDS} for i in listed]


def print_warnings(report: Any) -> None:
    """Warnings on stderr, after the verdict: the tree is valid, but look at these."""
    for issue in getattr(report, "warnings", None) or []:
        console.print(
            f"  [bold yellow]warning {issue.code}[/] task [cyan]{escape(issue.task_id or '')}"
            f"[/]: {escape(issue.message)}",
            highlight=False,
        )
        if issue.hint:
            console.print(f"    [green]hint:[/] {escape(issue.hint)}", highlight=False)


def print_issues(report: Any, source: str) -> None:
    """Every issue on stderr: code, task id, where, what is wrong and the hint."""
    n = len(report.issues)
    console.print(f"[bold red]x[/] {escape(source)}: {n} issue{'s' if n != 1 else ''}")
    for issue in report.issues[:SHOWN_ISSUES]:
        where = f"task [cyan]{escape(issue.task_id)}[/]" if issue.task_id else "tree"
        at = f" [dim]at {escape(issue.path)}[/]" if issue.path else ""
        console.print(f"  [bold red]{issue.code}[/] {where}{at}", highlight=False)
        console.print(f"    {escape(issue.message)}", highlight=False)
        if issue.hint:
            console.print(f"    [green]hint:[/] {escape(issue.hint)}", highlight=False)
    rest = report.issues[SHOWN_ISSUES:]
    if rest:
        counts = Counter(i.code for i in rest)
        codes = ", ".join(f"{code} x{count}" for code, count in counts.most_common())
        console.print(
            f"  ... and {len(rest)} more ({codes}); --json lists every issue", highlight=False
        )


def read_tree_text(path: str) -> str:
    """The file's text; a missing file is one clear error (bad JSON is the validator's job)."""
    p = Path(path)
    if p.is_dir():
        raise fail(f"{path} is a directory", "pass the path of a JSON task-tree file")
    if not p.is_file():
        raise fail(f"{path}: not found", "pass the path of a JSON task-tree file")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail(f"{path} is not a UTF-8 text file", "pass a JSON task-tree file") from None


def file_report(path: str, *, one_line_json_errors: bool = False) -> Any:
    """``validate_tree`` of a tree file, read the one way ``validate``, ``run`` and ``show``
    share (so they agree on every file). A file over the size limit is not even read.

    ``one_line_json_errors``: text that is not JSON raises one error line (with its hint)
    instead of coming back as an ``invalid_json`` issue."""
    from apflow.core.errors import ApflowError
    from apflow.spec import Limits, ValidationReport, validate_tree
    from apflow.spec.limits import document_too_large

    limits = Limits()
    p = Path(path)
    if p.is_file() and p.stat().st_size > limits.max_document_bytes:
        return ValidationReport([document_too_large(p.stat().st_size, limits)])
    report = validate_tree(read_tree_text(path), limits=limits)
    if one_line_json_errors and report.codes() == ["invalid_json"]:
        issue = report.issues[0]
        raise ApflowError(f"{path}: {issue.message}", hint=issue.hint)
    return report


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

    report = file_report(file)
    fixes: list[str] = []
    if fix and not report.valid and (report.spec is not None or report.fixable):
        from apflow.core.errors import ValidationFailed
        from apflow.spec import repair_tree

        source = report.spec if report.spec is not None else read_tree_text(file)
        try:
            repaired, fixes = repair_tree(source, report)
        except ValidationFailed as exc:  # beyond repair: report why
            repaired, fixes, report = None, [], exc.report
        if repaired is not None and fixes:
            target = output or file
            Path(target).write_text(json.dumps(repaired.to_list(), indent=2) + "\n")
            report = validate_tree(repaired)
            for line in fixes:
                console.print(f"[green]fixed:[/] {escape(line)}", highlight=False)
            console.print(f"wrote {escape(target)}")
            file = target
    if as_json:
        payload: dict[str, Any] = {
            "valid": report.valid,
            "issues": issue_dicts(report),
            "warnings": issue_dicts(report, "warnings"),
        }
        if fix:
            payload["fixes"] = fixes
        print_json(payload)
    elif report.valid:
        count = len(report.spec.tasks) if getattr(report, "spec", None) is not None else None
        tasks = f" ({count} tasks)" if count is not None else ""
        out.print(f"[bold green]ok[/] {escape(file)} is a valid task tree{tasks}")
        print_warnings(report)
    else:
        print_issues(report, file)
    if not report.valid:
        raise typer.Exit(1)
