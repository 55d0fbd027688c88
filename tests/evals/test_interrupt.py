"""Ctrl-C: the run stops, and the cases finished so far still make a report."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from apflow.cli.app import app
from apflow.evals import suite as suite_module
from apflow.evals.datasets import load_dataset
from apflow.evals.suite import SuiteResults, run_suite
from apflow.llm import ScriptedClient
from tests.evals.scripted import tree_from


class StallsAfter:
    """Answers the first ``n`` requests from gold trees, then never answers."""

    model = "stalls"

    def __init__(self, cases, n):
        self.inner = ScriptedClient(
            [{"match": c["request"], "response": tree_from(c["gold"]["tasks"])} for c in cases]
        )
        self.left = n

    async def complete(self, messages, **kwargs):
        if self.left == 0:
            await asyncio.Event().wait()
        self.left -= 1
        return await self.inner.complete(messages, **kwargs)


async def test_cancelled_run_keeps_finished_records(tmp_path):
    cases = load_dataset("builtin")[:4]
    run = SuiteResults("builtin", "single-shot", "stalls", len(cases))
    task = asyncio.create_task(
        run_suite(run, cases, StallsAfter(cases, 2), workdir=tmp_path, concurrency=1)
    )
    while len(run.records) < 2:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    assert run.interrupted
    assert [r["id"] for r in run.records] == [c["id"] for c in cases[:2]]


def test_cli_writes_a_partial_report_on_ctrl_c(tmp_path, monkeypatch):
    cases = load_dataset("builtin")[:3]
    script = tmp_path / "s.json"
    script.write_text(json.dumps([tree_from(c["gold"]["tasks"]) for c in cases]))
    real = suite_module.run_case
    calls = {"n": 0}

    async def interrupting(case, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return await real(case, *args, **kwargs)

    monkeypatch.setattr(suite_module, "run_case", interrupting)
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "run",
            "builtin",
            "--limit",
            "3",
            "--model",
            f"scripted:{script}",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 130, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["meta"]["interrupted"] and report["meta"]["cases_run"] == 1
    assert "partial report" in (tmp_path / "out" / "report.md").read_text()
