"""Replaying the recorded real-model runs in evals/cassettes reproduces their published reports.

Each cassette ``evals/cassettes/NAME.jsonl`` was recorded by
``apflow eval run SUITE --model local --mode MODE --limit N --record ... --out evals/results/NAME``;
replaying it must give the same numbers (wall time aside) without any model. A failure with
"request not in cassette" means prompts or data changed since recording: re-record (see
evals/RESULTS.md for the commands).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apflow.cli.app import app

REPO = Path(__file__).resolve().parents[2]
CASSETTES = REPO / "evals" / "cassettes"
RESULTS = REPO / "evals" / "results"
# wall time and machine load belong to the recording machine, not to the answers
TIMING = {"seconds_median", "seconds_p90", "seconds_total", "load_average_median"}
# Replaying every recorded run costs seconds each; CI replays the builtin ones.
REPLAYED = sorted(
    p.stem
    for p in CASSETTES.glob("builtin-*.jsonl")
    if (RESULTS / p.stem / "report.json").is_file()
)


def test_the_builtin_single_shot_cassette_exists():
    assert "builtin-single-shot" in REPLAYED, f"no recorded builtin cassette in {CASSETTES}"


@pytest.mark.parametrize("name", REPLAYED)
def test_replay_matches_the_recorded_report(name, tmp_path):
    recorded = json.loads((RESULTS / name / "report.json").read_text())
    meta = recorded["meta"]
    args = ["eval", "run", meta["suite"], "--mode", meta["mode"], "--limit", str(meta["limit"])]
    args += ["--replay", str(CASSETTES / f"{name}.jsonl"), "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    replayed = json.loads((tmp_path / "report.json").read_text())
    assert replayed["meta"]["dataset_sha256"] == meta["dataset_sha256"]

    def numbers(report):
        return {k: v for k, v in report["aggregate"].items() if k not in TIMING}

    # a report recorded before a metric existed is compared on the metrics it has
    shared = set(numbers(recorded))
    assert {k: v for k, v in numbers(replayed).items() if k in shared} == numbers(recorded)
    for want, got in zip(recorded["cases"], replayed["cases"], strict=True):
        assert (got["id"], got["predicted"], got["valid"]) == (
            want["id"],
            want["predicted"],
            want["valid"],
        )
