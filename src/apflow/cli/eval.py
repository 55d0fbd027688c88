"""``apflow eval``: run eval suites, score prediction files, compare reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from apflow.cli.app import app
from apflow.cli.common import console, handle_errors, out

eval_app = typer.Typer(
    help="Measure generated trees against gold data (builtin, nestful-dev, seal-tools-dev).",
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
