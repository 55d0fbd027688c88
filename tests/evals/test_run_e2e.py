"""End to end: `apflow eval run` on 10 builtin cases with the scripted backend.

The scripted model answers perfectly for most cases, and on purpose: forgets the root
(deterministic fix), names an unknown executor once (one re-ask), never gets it right
(GenerationError), leaves out a step (lower F1; asked once more for it, in vain), and
wires a reference to an output field that does not exist (valid, but not executable).
"""

from __future__ import annotations

import copy
import json

import pytest
from typer.testing import CliRunner

from apflow.cli.app import app
from apflow.evals.datasets import load_dataset
from tests.evals.scripted import tree_from, write_script

runner = CliRunner()


def _entries() -> list[tuple[str, object]]:
    cases = load_dataset("builtin")[:10]
    gold = {c["id"]: c["gold"]["tasks"] for c in cases}
    entries = []
    for case in cases:
        tasks = copy.deepcopy(gold[case["id"]])
        cid = case["id"]
        if cid == "builtin-parallel-repo-issues":
            tasks[2]["inputs"] = {"data": "$repo.no_such_field$"}
            entries.append((case["request"], tree_from(tasks)))
        elif cid == "builtin-scrape-analyse-blog":
            entries.append((case["request"], tree_from(tasks, root=False)))
        elif cid == "builtin-scrape-summarise-docs":
            wrong = copy.deepcopy(tasks)
            wrong[0]["tool"] = "fetch_page_executor"
            entries.append((case["request"], tree_from(wrong)))
            entries.append((case["request"], tree_from(tasks)))
        elif cid == "builtin-scrape-sentiment-reviews":
            wrong = copy.deepcopy(tasks)
            wrong[0]["tool"] = "fetch_page_executor"
            entries += [(case["request"], tree_from(wrong))] * 3
        elif cid == "builtin-scrape-extract-prices":
            only_llm = [{"id": "prices", "tool": "llm_executor", "inputs": {"prompt": "x"}}]
            # its URL unused: asked once more for the dropped step, and it answers the same
            entries += [(case["request"], tree_from(only_llm))] * 2
        else:
            entries.append((case["request"], tree_from(tasks)))
    return entries


@pytest.fixture
def script(tmp_path):
    return write_script(tmp_path / "script.json", _entries())


def _run(*args: str) -> dict:
    result = runner.invoke(app, ["eval", "run", "builtin", "--limit", "10", *args])
    assert result.exit_code == 0, result.output
    return result


def test_scripted_run_measures_every_metric(tmp_path, script):
    out = tmp_path / "report"
    _run("--model", f"scripted:{script}", "--out", str(out))
    report = json.loads((out / "report.json").read_text())
    agg, cases = report["aggregate"], {c["id"]: c for c in report["cases"]}
    assert report["meta"]["cases_run"] == 10 and report["meta"]["mode"] == "single-shot"
    assert len(report["meta"]["dataset_sha256"]) == 64 and report["meta"]["git_commit"]
    # gold nodes: 3 x {rest} + 2 x {rest, transform} + {rest, llm} + 4 x {scrape, llm} = 17;
    # missed: the failed case (2) and the scrape of the llm-only case (1): 14/17 recall.
    assert agg["micro"]["node"]["tp_fp_fn"] == [14, 0, 3]
    assert agg["node_f1"] == round(2 * 14 / 17 / (1 + 14 / 17), 4)
    assert agg["generation_errors"] == 1
    assert agg["valid_tree_rate"] == 0.9
    assert agg["executable_rate"] == 0.8
    # 10 + one re-ask + two re-asks of the failure + one for the dropped scrape
    assert agg["llm_calls_total"] == 14
    assert agg["reasks_total"] == 4
    assert cases["builtin-scrape-analyse-blog"]["fixes"] >= 1
    assert cases["builtin-scrape-analyse-blog"]["reasks"] == 0
    assert cases["builtin-scrape-summarise-docs"]["reasks"] == 1
    assert cases["builtin-scrape-summarise-docs"]["node_f1"] == 1.0
    failed = cases["builtin-scrape-sentiment-reviews"]
    assert failed["status"] == "generation_error" and failed["predicted"] == []
    not_exec = cases["builtin-parallel-repo-issues"]
    assert not_exec["valid"] and not not_exec["executable"]
    assert "record: failed" in not_exec["exec_detail"], not_exec["exec_detail"]
    assert cases["builtin-scrape-extract-prices"]["node_f1"] == pytest.approx(2 / 3, abs=1e-4)
    markdown = (out / "report.md").read_text()
    assert "10 worst cases" in markdown
    assert markdown.index("builtin-scrape-sentiment-reviews") < markdown.index(
        "builtin-parallel-users-orders"
    )


def test_record_then_replay_reproduces_the_report(tmp_path, script):
    cassette = tmp_path / "run.cassette.jsonl"
    _run("--model", f"scripted:{script}", "--record", str(cassette), "--out", str(tmp_path / "a"))
    assert len(cassette.read_text().splitlines()) == 14
    _run("--replay", str(cassette), "--out", str(tmp_path / "b"))
    a = json.loads((tmp_path / "a" / "report.json").read_text())
    b = json.loads((tmp_path / "b" / "report.json").read_text())
    timing = {"seconds_median", "seconds_p90", "seconds_total", "load_average_median"}
    assert {k: v for k, v in a["aggregate"].items() if k not in timing} == {
        k: v for k, v in b["aggregate"].items() if k not in timing
    }
    assert [c["predicted"] for c in a["cases"]] == [c["predicted"] for c in b["cases"]]


def test_replay_of_an_unrecorded_request_is_an_error(tmp_path, script):
    cassette = tmp_path / "run.cassette.jsonl"
    _run("--model", f"scripted:{script}", "--record", str(cassette), "--out", str(tmp_path / "a"))
    result = runner.invoke(
        app, ["eval", "run", "builtin", "--limit", "11", "--replay", str(cassette)]
    )
    assert result.exit_code == 1
    assert "request not in cassette" in result.output and "re-record" in result.output


def test_compare_lists_deltas_and_regressions(tmp_path, script):
    _run("--model", f"scripted:{script}", "--out", str(tmp_path / "a"))
    worse = json.loads((tmp_path / "a" / "report.json").read_text())
    first = worse["cases"][0]
    first.update(node_f1=0.5, valid=False)
    worse["aggregate"]["node_f1"] -= 0.1
    (tmp_path / "b.json").write_text(json.dumps(worse))
    result = runner.invoke(
        app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b.json"), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    node = next(r for r in data["rows"] if r["key"] == "node_f1")
    assert node["delta"] == -0.1 and node["worse"]
    assert data["regressions"] == [
        {"id": first["id"], "drops": {"node_f1": [1.0, 0.5], "valid": [True, False]}}
    ]
    human = runner.invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b.json")])
    assert "1 case(s) regressed" in human.stdout and first["id"] in human.stdout


def test_bad_mode_and_conflicting_cassette_flags_fail_cleanly(tmp_path, script):
    bad = runner.invoke(app, ["eval", "run", "builtin", "--mode", "two-shot"])
    assert bad.exit_code == 1 and "unknown eval mode" in bad.output
    both = runner.invoke(
        app, ["eval", "run", "builtin", "--record", "a.jsonl", "--replay", "b.jsonl"]
    )
    assert both.exit_code == 2
