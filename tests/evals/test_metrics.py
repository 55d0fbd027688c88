"""Metrics: identities, hand-computed cases, and agreement with the reference scorer."""

from __future__ import annotations

import copy
import random

import pytest

from apflow.evals.datasets import load_dataset
from apflow.evals.metrics import (
    METRICS,
    aggregate,
    canonical_value,
    prf,
    score_case,
    score_predictions,
)

TOOLS = [
    {"name": "fetch", "input_schema": {}, "output_schema": {"properties": {"text": {}}}},
    {"name": "llm", "input_schema": {}, "output_schema": None},
    {"name": "merge", "input_schema": {}, "output_schema": None},
]
GOLD = [
    {"id": "a", "tool": "fetch", "inputs": {"url": "https://x.org"}, "depends_on": []},
    {"id": "b", "tool": "fetch", "inputs": {"url": "https://y.org"}, "depends_on": []},
    {"id": "c", "tool": "llm", "inputs": {"prompt": "$a.text$", "n": 3}, "depends_on": ["a"]},
]
CASE = {"id": "c1", "tools": TOOLS, "gold": {"tasks": GOLD}}


@pytest.mark.parametrize("metric", METRICS)
def test_gold_against_itself_scores_one(metric):
    score = score_case(CASE, copy.deepcopy(GOLD))
    assert score.f1(metric) == 1.0
    assert score.exact_tool_set


@pytest.mark.parametrize("metric", METRICS)
def test_empty_prediction_scores_zero(metric):
    score = score_case(CASE, [])
    assert score.f1(metric) == 0.0
    assert not score.exact_tool_set
    assert score.counts[metric][0] == 0


def test_hand_computed_partial_prediction():
    # The prediction renames ids, keeps one fetch, points the llm at it, and adds a merge.
    pred = [
        {"id": "f", "tool": "fetch", "inputs": {"url": " HTTPS://X.ORG "}, "depends_on": []},
        {
            "id": "l",
            "tool": "llm",
            "inputs": {"prompt": "$f.text$", "n": "3.0"},
            "depends_on": ["f"],
        },
        {"id": "m", "tool": "merge", "inputs": {}, "depends_on": ["f", "l"]},
    ]
    s = score_case(CASE, pred)
    assert s.counts["node"] == [2, 1, 0]  # fetch, llm right; merge extra
    assert s.counts["edge"] == [1, 2, 0]  # (fetch, llm) right; (fetch, merge), (llm, merge) extra
    # names: gold fetch.url x2, llm.prompt, llm.n; predicted fetch.url, llm.prompt, llm.n
    assert s.counts["param_name"] == [3, 0, 1]
    # values match after normalisation: case/space folded url, "3.0" == 3, ref by producing tool
    assert s.counts["param_value"] == [3, 0, 1]
    assert s.f1("node") == pytest.approx(0.8)
    assert s.f1("edge") == pytest.approx(0.5)
    assert s.f1("param_name") == pytest.approx(2 * 1.0 * 0.75 / 1.75)
    assert not s.exact_tool_set


def test_aggregate_is_micro_averaged_not_mean_of_cases():
    small = score_case(CASE, GOLD[:1])  # node tp=1 fn=1
    perfect = score_case(CASE, GOLD)  # node tp=2
    agg = aggregate([small, perfect])
    assert agg["node"]["tp_fp_fn"] == [3, 0, 1]
    assert agg["node"]["f1"] == round(prf(3, 0, 1)[2], 4)
    assert agg["exact_tool_set"] == 1


def test_canonical_value_rules():
    assert canonical_value(" Paris ", {}, {}) == "paris"
    assert canonical_value("40.7", {}, {}) == canonical_value(40.7, {}, {})
    assert canonical_value(True, {}, {}) == "true"
    assert canonical_value("$x.lat$", {"x": "geo"}, {}) == "<ref:geo.lat>"
    assert canonical_value("API_call_1", {}, {"1": "geo.lat"}) == "<ref:geo.lat>"
    assert canonical_value({"b": 1, "a": [None]}, {}, {}) == '{"a": "[\\"null\\"]", "b": "1.0"}'


def test_nothing_expected_nothing_predicted_is_perfect():
    assert prf(0, 0, 0) == (1.0, 1.0, 1.0)
    case = {"id": "x", "tools": [], "gold": {"tasks": [{"id": "a", "tool": "t", "inputs": {}}]}}
    assert score_case(case, [{"id": "z", "tool": "t"}]).f1("edge") == 1.0


def _perturbed(case: dict, rng: random.Random) -> list[dict]:
    """A deterministic, imperfect prediction built from the gold tasks."""
    tasks = copy.deepcopy(case["gold"]["tasks"])
    kind = rng.randrange(6)
    if kind == 0 and tasks:
        tasks.pop(rng.randrange(len(tasks)))
    elif kind == 1:
        tasks.append({"id": "extra", "tool": case["tools"][0]["name"], "inputs": {"q": "x"}})
    elif kind == 2:
        for t in tasks:
            for k in list(t.get("inputs") or {})[:1]:
                t["inputs"][k] = "changed"
    elif kind == 3:
        for t in tasks:
            t["depends_on"] = []
    elif kind == 4:
        return []
    return tasks


@pytest.mark.parametrize("suite", ["nestful-dev", "seal-tools-dev", "builtin", "user-dev"])
def test_scorer_agrees_with_reference_on_fixed_predictions(suite, reference_scorer):
    dataset = load_dataset(suite)[:60]
    rng = random.Random(f"agreement-{suite}")
    preds = {c["id"]: _perturbed(c, rng) for c in dataset if rng.random() < 0.9}
    ours = score_predictions(dataset, preds)
    reference = reference_scorer.score(dataset, preds)
    assert ours == reference
    assert ours["node"]["f1"] < 1.0  # the fixed set really is imperfect


def test_reference_selftest_numbers_hold_for_full_dev_sets(reference_scorer):
    for suite in ("nestful-dev", "seal-tools-dev"):
        dataset = load_dataset(suite)
        gold = {c["id"]: c["gold"]["tasks"] for c in dataset}
        assert score_predictions(dataset, gold) == reference_scorer.score(dataset, gold)


#: apflow's own suites: least cases and the patterns they must cover
APFLOW_SUITES = {
    "builtin": (
        30,
        {
            "parallel_merge",
            "scrape_analyse",
            "sequential",
            "fallback",
            "fan_out",
            "single",
            "vague",
        },
    ),
    "user-dev": (
        60,
        {
            "side_effect_order",
            "fan_out_in",
            "fallback",
            "transform_between",
            "mcp",
            "single",
            "lookup_chain",
            "collapsed_steps",
        },
    ),
    # the guide's own "Good requirements" ("save to database" needs sql_executor)
    "guide": (2, {"fan_out_in", "transform_between"}),
}


@pytest.mark.parametrize("suite", APFLOW_SUITES)
def test_apflow_suite_is_consistent_with_the_live_registry(suite):
    from jsonschema import Draft202012Validator

    import apflow

    live = {e["id"] for e in apflow.list_executors()}
    cases = load_dataset(suite)
    least, patterns = APFLOW_SUITES[suite]
    assert len(cases) >= least
    assert patterns <= {c["meta"]["pattern"] for c in cases}
    for case in cases:
        tools = {t["name"]: t for t in case["tools"]}
        assert set(tools) <= live, case["id"]
        earlier = set()
        for task in case["gold"]["tasks"]:
            assert task["tool"] in tools and task["tool"] != "aggregate_results_executor"
            assert set(task["depends_on"]) <= earlier, (case["id"], task["id"])
            earlier.add(task["id"])
            schema = dict(tools[task["tool"]]["input_schema"])
            whole_refs = {k for k, v in task["inputs"].items() if str(v).startswith("$")}
            inputs = {k: v for k, v in task["inputs"].items() if k not in whole_refs}
            schema["required"] = [r for r in schema.get("required", []) if r not in whole_refs]
            errors = list(Draft202012Validator(schema).iter_errors(inputs))
            assert not errors, (case["id"], task["id"], errors[0].message)


@pytest.mark.parametrize("suite", APFLOW_SUITES)
def test_apflow_gold_references_name_declared_output_fields(suite):
    import re

    for case in load_dataset(suite):
        tools = {t["name"]: t for t in case["tools"]}
        tool_of = {t["id"]: t["tool"] for t in case["gold"]["tasks"]}
        for task in case["gold"]["tasks"]:
            for ref_id, field in re.findall(
                r"\$([A-Za-z0-9_]+)(?:\.([A-Za-z0-9_]+))?(?:\.[^$]*)?\$", str(task)
            ):
                assert ref_id in task["depends_on"], (case["id"], task["id"], ref_id)
                props = (tools[tool_of[ref_id]].get("output_schema") or {}).get("properties")
                if field and props:
                    assert field in props, (case["id"], task["id"], f"{ref_id}.{field}")
