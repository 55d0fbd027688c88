"""``apflow eval score``: a predictions file scored without a model, same JSON as the reference."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from apflow.cli.app import app
from apflow.evals.datasets import load_dataset, resolve

runner = CliRunner()


def _write_predictions(path, dataset):
    with path.open("w") as f:
        for case in dataset[:10]:
            f.write(json.dumps({"id": case["id"], "tasks": case["gold"]["tasks"][:-1]}) + "\n")


def test_score_json_matches_reference_scorer(tmp_path, reference_scorer):
    dataset = load_dataset("nestful-dev")
    preds = tmp_path / "preds.jsonl"
    _write_predictions(preds, dataset)
    result = runner.invoke(app, ["eval", "score", "nestful-dev", str(preds), "--json"])
    assert result.exit_code == 0, result.output
    expected = reference_scorer.score(
        reference_scorer.load_jsonl(str(resolve("nestful-dev"))),
        {r["id"]: r["tasks"] for r in map(json.loads, preds.read_text().splitlines())},
    )
    assert json.loads(result.stdout) == expected


def test_score_human_output_shows_the_table(tmp_path):
    preds = tmp_path / "preds.jsonl"
    _write_predictions(preds, load_dataset("builtin"))
    result = runner.invoke(app, ["eval", "score", "builtin", str(preds)])
    assert result.exit_code == 0, result.output
    assert "param_value" in result.stdout and "node" in result.stdout


def test_unknown_suite_is_one_clear_error(tmp_path):
    preds = tmp_path / "p.jsonl"
    preds.write_text("")
    result = runner.invoke(app, ["eval", "score", "no-such-suite", str(preds)])
    assert result.exit_code == 1
    assert "unknown eval suite" in result.output and "builtin" in result.output


def test_bad_prediction_line_names_the_line(tmp_path):
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "x", "tasks": []}\nnot json\n')
    result = runner.invoke(app, ["eval", "score", "builtin", str(preds)])
    assert result.exit_code == 1
    assert "p.jsonl:2" in result.output
