"""`apflow eval run --extend`: add cases to a recorded run; the recorded ones are replayed."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from apflow.cli.app import app
from apflow.evals.datasets import load_dataset
from tests.evals.scripted import tree_from, write_script

runner = CliRunner()


def _script(tmp_path, cases, name):
    entries = [(c["request"], tree_from(c["gold"]["tasks"])) for c in cases]
    return write_script(tmp_path / name, entries)


def _run(*args: str):
    return runner.invoke(app, ["eval", "run", "builtin", *args])


def test_extend_runs_only_the_new_cases_and_keeps_the_recorded_ones(tmp_path):
    cases = load_dataset("builtin")[:5]
    out, cassette = tmp_path / "report", tmp_path / "c.jsonl"
    first = _script(tmp_path, cases[:3], "first.json")
    done = _run("--limit", "3", "--model", f"scripted:{first}", "--record", str(cassette))
    assert done.exit_code == 0, done.output
    done = _run(
        "--limit", "3", "--replay", str(cassette), "--out", str(out)
    )  # a report for the 3 cases, as a real recording would leave
    assert done.exit_code == 0, done.output
    before = json.loads((out / "report.json").read_text())
    for record in before["cases"]:
        record["seconds"], record["load_average"] = 42.0, 1.25  # what the real run measured
    (out / "report.json").write_text(json.dumps(before))

    # the model only knows the two new cases: asking it for an old one would fail the run
    second = _script(tmp_path, cases[3:], "second.json")
    args = ["--limit", "5", "--model", f"scripted:{second}", "--record", str(cassette)]
    done = _run(*args, "--out", str(out), "--extend")
    assert done.exit_code == 0, done.output
    report = json.loads((out / "report.json").read_text())
    assert [r["id"] for r in report["cases"]] == [c["id"] for c in cases]
    assert [r["seconds"] for r in report["cases"][:3]] == [42.0] * 3
    assert report["cases"][3]["seconds"] != 42.0
    assert report["meta"]["extended_from_cases"] == 3

    # the cassette now replays the whole extended run
    again = _run("--limit", "5", "--replay", str(cassette), "--out", str(tmp_path / "again"))
    assert again.exit_code == 0, again.output
    replayed = json.loads((tmp_path / "again" / "report.json").read_text())
    assert replayed["aggregate"]["node_f1"] == report["aggregate"]["node_f1"]
    assert replayed["meta"]["cases_run"] == 5


def test_extend_refuses_when_a_recorded_case_no_longer_reproduces(tmp_path):
    cases = load_dataset("builtin")[:2]
    out, cassette = tmp_path / "report", tmp_path / "c.jsonl"
    script = _script(tmp_path, cases, "s.json")
    args = ["--limit", "2", "--model", f"scripted:{script}", "--record", str(cassette)]
    assert _run(*args, "--out", str(out)).exit_code == 0
    report = json.loads((out / "report.json").read_text())
    report["cases"][0]["predicted"] = []  # as if prompts or scoring had changed since
    (out / "report.json").write_text(json.dumps(report))
    done = _run(*args, "--out", str(out), "--extend")
    assert done.exit_code != 0
    assert "no longer reproduces" in done.output and "re-record" in done.output


def test_extend_needs_the_earlier_report_and_never_drops_cases(tmp_path):
    cases = load_dataset("builtin")[:2]
    out, cassette = tmp_path / "report", tmp_path / "c.jsonl"
    script = _script(tmp_path, cases, "s.json")
    model = ["--model", f"scripted:{script}", "--record", str(cassette)]
    missing = _run("--limit", "2", *model, "--out", str(out), "--extend")
    assert missing.exit_code != 0 and "earlier report" in missing.output
    assert _run("--limit", "2", *model, "--out", str(out)).exit_code == 0
    fewer = _run("--limit", "1", *model, "--out", str(out), "--extend")
    assert fewer.exit_code != 0 and "only adds cases" in fewer.output
    assert json.loads((out / "report.json").read_text())["meta"]["cases_run"] == 2
