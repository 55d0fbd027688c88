"""The best-practices guide's "Task Tree Structure" examples give the expected verdicts."""

from __future__ import annotations

from apflow.spec import repair_tree, validate_tree

# Verbatim from the guide (comments dropped).
GOOD = [
    {
        "id": "root",
        "schemas": {"method": "aggregate_results_executor"},
        "dependencies": [{"id": "fetch"}, {"id": "process"}],
    },
    {"id": "fetch", "parent_id": "root", "schemas": {"method": "fetch_executor"}},
    {
        "id": "process",
        "parent_id": "root",
        "dependencies": [{"id": "fetch"}],
        "schemas": {"method": "llm_executor"},
    },
]
BAD = [
    {"id": "root", "schemas": {"method": "fetch_executor"}},
    {"id": "process", "parent_id": "root", "schemas": {"method": "llm_executor"}},
]


def test_the_good_aggregator_root_example_is_valid(registry):
    report = validate_tree(GOOD, registry)
    assert report.valid, report.to_text()


def test_the_bad_non_aggregator_root_example_is_rejected(registry):
    report = validate_tree(BAD, registry)
    assert report.codes() == ["non_aggregator_root"]
    issue = report.issues[0]
    assert issue.task_id == "root" and issue.fixable
    assert "aggregate_results_executor" in issue.message


def test_repair_turns_the_bad_example_into_the_good_pattern(registry):
    spec, fixes = repair_tree(BAD, registry=registry)
    assert validate_tree(spec, registry).valid
    root = spec.tasks[0]
    assert root.executor == "aggregate_results_executor" and root.dependency_ids() == ["root"]
    assert spec.get("process").parent_id == "root"
