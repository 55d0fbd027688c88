"""``apflow eval``: run eval suites, score prediction files, compare reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from apflow.cli.app import app
from apflow.cli.common import console, fail, handle_errors, out, run_async

eval_app = typer.Typer(
    help="Measure generated trees against gold data "
    "(builtin, user-dev, nestful-dev, seal-tools-dev).",
    no_args_is_help=True,
)
app.add_typer(eval_app, name="eval")


def _metrics_table(result: dict) -> Table:
    table = Table(title=f"{result['samples']} cases, exact tool set {result['exact_tool_set']}")
    for column in ("metric", "F1", "precision", "recall", "tp / fp / fn"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for metric in ("node", "edge", "param_name", "param_value"):
        m = result[metric]
        table.add_row(
            metric,
            f"{m['f1']:.4f}",
            f"{m['precision']:.4f}",
            f"{m['recall']:.4f}",
            " / ".join(str(x) for x in m["tp_fp_fn"]),
        )
    return table


@eval_app.command("score")
@handle_errors
def score(
    dataset: Annotated[str, typer.Argument(help="Dataset path or built-in name")],
    predictions: Annotated[
        Path, typer.Argument(help="JSONL: {id, tasks:[{id,tool,inputs,depends_on}]}")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON")] = False,
) -> None:
    """Score a predictions file against a dataset, without running any model."""
    from apflow.evals.datasets import load_dataset, load_predictions
    from apflow.evals.metrics import score_predictions

    result = score_predictions(load_dataset(dataset), load_predictions(predictions))
    if as_json:
        typer.echo(json.dumps(result, indent=1))
        return
    console.print(f"predicted {result['predicted']} of {result['samples']} cases")
    out.print(_metrics_table(result))


def _client(model: str | None, record: Path | None, replay: Path | None, extend: bool = False):
    from apflow.evals.cassette import RecordingClient, ReplayClient
    from apflow.llm import get_client

    if record and replay:
        raise fail("--record and --replay cannot be used together", code=2)
    if replay:
        return ReplayClient(replay)
    client = get_client(model)
    # extending records through its own appending recorder, after the replayed cases
    return RecordingClient(client, record) if record and not extend else client


def _progress_line(records: list[dict]) -> str:
    from apflow.evals.report import summarise

    agg = summarise(records)
    return (
        f"node {agg['node_f1']:.2f} edge {agg['edge_f1']:.2f} "
        f"value {agg['param_value_f1']:.2f} valid {agg['valid_tree_rate']:.0%} "
        f"exec {agg['executable_rate']:.0%} {agg['seconds_median']:.1f}s/case"
    )


@eval_app.command("run")
@handle_errors
def run(
    suite: Annotated[
        str, typer.Argument(help="builtin, user-dev, nestful-dev, seal-tools-dev or a path")
    ],
    model: Annotated[str | None, typer.Option("--model", help="Model string")] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="single-shot, multi-phase or baseline")
    ] = "single-shot",
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N cases")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Cases at a time")] = 1,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Report folder")] = None,
    record: Annotated[Path | None, typer.Option("--record", help="Write a cassette")] = None,
    replay: Annotated[Path | None, typer.Option("--replay", help="Serve a cassette")] = None,
    extend: Annotated[
        bool,
        typer.Option(
            "--extend",
            help="Add cases to the run recorded in --out/--record: recorded cases are "
            "replayed (and must reproduce), only new ones reach the model",
        ),
    ] = False,
) -> None:
    """Generate a tree for every case, measure it, write report.json and report.md."""
    import shlex
    import sys
    import tempfile
    import time

    from apflow.evals.datasets import dataset_hash, load_dataset, resolve
    from apflow.evals.report import build_report, write_report
    from apflow.evals.suite import SuiteResults, normalise_mode, run_suite

    mode = normalise_mode(mode)
    if limit is not None and limit < 1:
        raise fail("--limit must be at least 1", code=2)
    cases = load_dataset(suite)[:limit]
    previous: dict = {}
    if extend:
        from apflow.evals.extend import previous_records

        if record is None or out_dir is None:
            raise fail("--extend needs --record (the cassette) and --out (the report)", code=2)
        previous = previous_records(out_dir, record)
    client = _client(model, record, replay, extend)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = out_dir or Path(".apflow") / "evals" / f"{Path(str(suite)).stem}-{mode}-{stamp}"
    state_run = SuiteResults(
        suite=str(suite), mode=mode, model=client.model, cases_total=len(cases)
    )
    meta = {
        "dataset": str(resolve(suite)),
        "dataset_sha256": dataset_hash(suite),
        "limit": limit,
        "concurrency": concurrency,
        "cassette": str(record or replay or ""),
        "extended_from_cases": len(previous) if extend else None,
        "command": "apflow eval " + shlex.join(sys.argv[sys.argv.index("run") :])
        if "run" in sys.argv
        else "",
    }
    progress = Progress(
        TextColumn("[bold]{task.fields[suite]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=False,
    )
    bar = progress.add_task("", total=len(cases), suite=f"{suite} {mode}")

    def on_record(_record: dict) -> None:
        progress.update(bar, advance=1, description=_progress_line(state_run.records))

    interrupted = False
    with progress, tempfile.TemporaryDirectory(prefix="apflow-eval-") as work:
        try:
            if extend:
                from apflow.evals.extend import extend_suite

                job = extend_suite(
                    state_run,
                    cases,
                    client,
                    record,
                    previous,
                    workdir=work,
                    concurrency=concurrency,
                    on_record=on_record,
                )
            else:
                job = run_suite(
                    state_run,
                    cases,
                    client,
                    workdir=work,
                    concurrency=concurrency,
                    on_record=on_record,
                )
            run_async(job)
        except KeyboardInterrupt:
            interrupted = state_run.interrupted = True
    report = build_report(state_run, meta)
    json_path, md_path = write_report(report, folder)
    out.print(_summary_table(report))
    console.print(f"wrote {json_path} and {md_path}")
    if interrupted:
        console.print("[yellow]interrupted: the report holds the cases finished so far[/]")
        raise typer.Exit(130)


def _summary_table(report: dict) -> Table:
    from apflow.evals.report import HEADLINE

    meta, agg = report["meta"], report["aggregate"]
    table = Table(title=f"{meta['suite']} / {meta['mode']} / {meta['model']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("cases", f"{meta['cases_run']} of {meta['cases_total']}")
    for key, label in HEADLINE:
        table.add_row(label, str(agg.get(key, "")))
    return table


@eval_app.command("compare")
@handle_errors
def compare(
    a: Annotated[Path, typer.Argument(help="Report A (report.json or its folder)")],
    b: Annotated[Path, typer.Argument(help="Report B")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON")] = False,
) -> None:
    """Side-by-side headline metrics with deltas, and the cases that got worse from A to B."""
    from apflow.evals.compare import compare_reports, load_report

    result = compare_reports(load_report(a), load_report(b))
    if as_json:
        typer.echo(json.dumps(result, indent=1))
        return
    label_a = f"A: {result['a']['mode']} {result['a']['model']}"
    label_b = f"B: {result['b']['mode']} {result['b']['model']}"
    table = Table(title=f"{result['shared_cases']} shared cases")
    for column in ("metric", label_a, label_b, "delta"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for row in result["rows"]:
        style = "red" if row["worse"] else ("green" if row["delta"] else "")
        delta = f"[{style}]{row['delta']:+g}[/]" if style else "0"
        table.add_row(row["metric"], f"{row['a']:g}", f"{row['b']:g}", delta)
    out.print(table)
    regressions = result["regressions"]
    out.print(f"{len(regressions)} case(s) regressed from A to B")
    for reg in regressions:
        drops = ", ".join(f"{k} {v[0]:g} -> {v[1]:g}" for k, v in reg["drops"].items())
        out.print(f"  {reg['id']}: {drops}", highlight=False)
