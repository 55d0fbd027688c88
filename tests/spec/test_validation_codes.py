"""One test per validation code: the right code, task, path and an actionable hint."""

from __future__ import annotations

import json

import pytest

from apflow.core.errors import ValidationFailed
from apflow.spec import ExecutorPolicy, Limits, repair_tree, validate_tree

from .conftest import good_tree, task


def only(report, code):
    found = report.by_code(code)
    assert found, f"expected {code}, got {report.to_text()}"
    return found


def test_the_good_tree_is_valid(registry):
    report = validate_tree(good_tree(), registry)
    assert report.valid, report.to_text()
    assert report.spec is not None and [t.id for t in report.spec.tasks] == [
        "root",
        "fetch",
        "process",
    ]
    assert report.to_dict() == {"valid": True, "issues": [], "warnings": []}


def test_invalid_json_gives_line_and_column(registry):
    report = validate_tree('[{"id": "a",}]', registry)
    (issue,) = only(report, "invalid_json")
    assert "line 1" in issue.message and "JSON" in issue.hint
    assert report.spec is None


def test_invalid_shape_points_at_the_pydantic_location(registry):
    tree = good_tree()
    tree[1]["dependencies"] = [{"idd": "x"}]
    del tree[2]["schemas"]
    report = validate_tree(tree, registry)
    paths = {i.path for i in only(report, "invalid_shape")}
    assert "tasks[1].dependencies[0].id" in paths
    assert "tasks[2].schemas" in paths
    missing = next(i for i in report.issues if i.path == "tasks[2].schemas")
    assert missing.task_id == "process" and '"method"' in missing.hint


def test_a_non_list_tree_is_invalid_shape(registry):
    (issue,) = only(
        validate_tree({"id": "a", "schemas": {"method": "x"}}, registry), "invalid_shape"
    )
    assert "list" in issue.hint


def test_unknown_task_field_is_invalid_shape_and_fixable(registry):
    tree = good_tree()
    tree[1]["description"] = "fetch the page"
    (issue,) = only(validate_tree(tree, registry), "invalid_shape")
    assert issue.path == "tasks[1].description" and issue.fixable
    assert 'remove the field "description"' in issue.hint


def test_empty_tree(registry):
    assert validate_tree([], registry).codes() == ["empty_tree"]
    assert validate_tree({"tasks": []}, registry).codes() == ["empty_tree"]


def test_too_many_tasks_uses_the_configured_limit(registry):
    tree = [task("root", "aggregate_results_executor", dependencies=["a", "b", "c"])]
    tree += [task(x, parent_id="root") for x in "abc"]
    assert validate_tree(tree, registry).valid
    report = validate_tree(tree, registry, limits=Limits(max_tasks=3))
    (issue,) = only(report, "too_many_tasks")
    assert "4 tasks" in issue.message and "3" in issue.hint


def test_input_too_large(registry):
    tree = good_tree()
    tree[1]["inputs"]["url"] = "x" * 2000
    (issue,) = only(
        validate_tree(tree, registry, limits=Limits(max_input_bytes=1024)), "input_too_large"
    )
    assert issue.task_id == "fetch" and issue.path == "tasks[1].inputs"


def test_deeply_nested_input_is_refused_without_crashing(registry):
    inner: dict = {}
    cursor = inner
    for _ in range(3000):
        cursor["a"] = {}
        cursor = cursor["a"]
    tree = good_tree()
    tree[1]["inputs"] = inner
    (issue,) = only(validate_tree(tree, registry), "input_too_large")
    assert "nested more than 32 levels" in issue.message
    assert validate_tree("[" * 5000 + "]" * 5000, registry).codes() == ["invalid_json"]
    with pytest.raises(ValidationFailed):
        repair_tree(tree, registry=registry)


def test_duplicate_id_is_fixable_only_when_nobody_refers_to_it(registry):
    tree = good_tree() + [task("extra", parent_id="root"), task("extra", parent_id="root")]
    tree[0]["dependencies"].append("extra")
    (issue,) = only(validate_tree(tree, registry), "duplicate_id")
    assert issue.path == "tasks[4].id" and not issue.fixable
    tree[0]["dependencies"].pop()
    (issue,) = only(validate_tree(tree, registry), "duplicate_id")
    assert issue.fixable and '"extra_2"' in issue.hint


def test_missing_dependency_suggests_close_ids(registry):
    tree = good_tree()
    tree[2]["dependencies"] = [{"id": "fetc"}]
    tree[2]["inputs"] = {"prompt": "hi"}
    (issue,) = only(validate_tree(tree, registry), "missing_dependency")
    assert issue.task_id == "process" and issue.path == "tasks[2].dependencies[0].id"
    assert '"fetch"' in issue.hint and not issue.fixable


def test_missing_dependency_that_is_a_task_name_suggests_its_id(registry):
    tree = good_tree()
    tree[1]["name"] = "Download page"
    tree[2]["dependencies"] = ["Download page"]
    (issue,) = only(validate_tree(tree, registry), "missing_dependency")
    assert '(did you mean "fetch"?)' in issue.hint


def test_self_dependency(registry):
    tree = good_tree()
    tree[1]["dependencies"] = ["fetch"]
    (issue,) = only(validate_tree(tree, registry), "self_dependency")
    assert issue.task_id == "fetch" and issue.fixable


def test_missing_parent(registry):
    tree = good_tree()
    tree[2]["parent_id"] = "nowhere"
    (issue,) = only(validate_tree(tree, registry), "missing_parent")
    assert issue.task_id == "process" and '"root"' in issue.hint and issue.fixable


def test_dependency_cycle_names_every_task_on_the_cycle(registry):
    tree = good_tree() + [task("c", parent_id="root", dependencies=["process"])]
    tree[0]["dependencies"].append("c")
    tree[1]["dependencies"] = ["c"]
    (issue,) = only(validate_tree(tree, registry), "dependency_cycle")
    for tid in ("fetch", "process", "c"):
        assert f'"{tid}"' in issue.message
    assert "fetch -> c -> process -> fetch" in issue.message
    assert 'remove "c" from the dependencies of "fetch"' in issue.hint


def test_parent_cycle(registry):
    tree = good_tree() + [task("a", parent_id="b"), task("b", parent_id="a")]
    tree[0]["dependencies"] += ["a", "b"]
    report = validate_tree(tree, registry)
    (issue,) = only(report, "parent_cycle")
    assert "a -> b -> a" in issue.message and issue.fixable
    assert "no_root" not in report.codes()


def test_no_root(registry):
    tree = [task("a", parent_id="b"), task("b", parent_id="a")]
    report = validate_tree(tree, registry)
    assert {"no_root", "parent_cycle"} <= set(report.codes())
    tree = [task("a", parent_id="gone")]
    (issue,) = only(validate_tree(tree, registry), "no_root")
    assert issue.fixable and "aggregate_results_executor" in issue.hint


def test_multiple_roots_lists_them(registry):
    tree = [task("a"), task("b", "llm_executor")]
    (issue,) = only(validate_tree(tree, registry), "multiple_roots")
    assert '"a", "b"' in issue.message and issue.fixable
    assert '"dependencies": ["a", "b"]' in issue.hint


def test_unreachable_task_points_at_the_broken_link(registry):
    tree = good_tree() + [task("lost", parent_id="ghost"), task("kid", parent_id="lost")]
    report = validate_tree(tree, registry)
    (issue,) = only(report, "unreachable_task")
    assert issue.task_id == "kid" and 'set parent_id of "lost" to "root"' in issue.hint
    assert [i.task_id for i in report.by_code("missing_parent")] == ["lost"]


def test_non_aggregator_root_with_children(registry):
    tree = [task("root"), task("process", "llm_executor", parent_id="root")]
    (issue,) = only(validate_tree(tree, registry), "non_aggregator_root")
    assert issue.path == "tasks[0].schemas.method" and issue.fixable
    assert '"id": "root_1"' in issue.hint


def test_aggregator_root_must_depend_on_every_top_level_task(registry):
    tree = good_tree()
    tree[0]["dependencies"] = [{"id": "process", "required": False}]
    (issue,) = only(validate_tree(tree, registry), "non_aggregator_root")
    assert '"fetch"' in issue.message and issue.path == "tasks[0].dependencies"


def test_a_single_task_needs_no_aggregator(registry):
    assert validate_tree([task("only", inputs={"url": "u"})], registry).valid


def test_unknown_executor_lists_three_closest(registry):
    tree = good_tree()
    tree[1]["schemas"]["method"] = "fetcher"
    (issue,) = only(validate_tree(tree, registry), "unknown_executor")
    assert issue.hint.endswith("'fetch_executor', 'http_get_executor', 'llm_executor'")
    assert not issue.fixable  # command_executor (denied) and the aggregator are not suggested
    tree[1]["schemas"]["method"] = "aggregator"
    (issue,) = only(validate_tree(tree, registry), "unknown_executor")
    assert "'aggregate_results_executor'" in issue.hint


def test_unknown_executor_is_fixable_when_unambiguous(registry):
    tree = good_tree()
    tree[1]["schemas"]["method"] = "Fetch-Executor"
    (issue,) = only(validate_tree(tree, registry), "unknown_executor")
    assert issue.fixable and '"fetch_executor"' in issue.hint


def test_disallowed_executor_by_default_policy(registry, monkeypatch):
    tree = good_tree()
    tree[1]["schemas"]["method"] = "command_executor"
    tree[1]["inputs"] = {"command": "ls"}
    monkeypatch.delenv("APFLOW_ALLOW_COMMANDS", raising=False)
    (issue,) = only(validate_tree(tree, registry), "disallowed_executor")
    assert "APFLOW_ALLOW_COMMANDS=1" in issue.message
    monkeypatch.setenv("APFLOW_ALLOW_COMMANDS", "1")
    assert validate_tree(tree, registry).valid
    narrow = ExecutorPolicy(allowed={"aggregate_results_executor", "llm_executor"})
    assert "disallowed_executor" in validate_tree(tree, registry, policy=narrow).codes()


def test_invalid_inputs_points_at_each_field(registry):
    tree = good_tree()
    tree[1]["schemas"]["method"] = "http_get_executor"
    tree[1]["inputs"] = {"method": "POST", "retries": "3", "bogus": 1, "headers": {}}
    issues = only(validate_tree(tree, registry), "invalid_inputs")
    by_path = {i.path: i for i in issues}
    assert set(by_path) == {
        "tasks[1].inputs.url",
        "tasks[1].inputs.method",
        "tasks[1].inputs.retries",
        "tasks[1].inputs.bogus",
        "tasks[1].inputs.headers.accept",
    }
    assert "the address to fetch" in by_path["tasks[1].inputs.url"].message
    assert "accepted inputs: headers, method, retries, url" in by_path["tasks[1].inputs.bogus"].hint
    assert 'one of ["GET", "HEAD"]' in by_path["tasks[1].inputs.method"].hint
    assert "a JSON integer" in by_path["tasks[1].inputs.retries"].hint


def test_required_input_fed_by_reference_or_dependency_counts_as_present(registry):
    tree = good_tree()
    tree.insert(2, task("url", "llm_executor", parent_id="root", inputs={"prompt": "a url"}))
    tree[0]["dependencies"].append("url")
    tree[1]["schemas"]["method"] = "http_get_executor"
    tree[1]["inputs"] = {"url": "${url.result.text}", "retries": "${url.result.n}"}
    tree[1]["dependencies"] = ["url"]
    assert validate_tree(tree, registry).valid, validate_tree(tree, registry).to_text()
    tree[1]["inputs"] = {}  # injected: the dependency's id is "url"
    assert validate_tree(tree, registry).valid
    tree[1]["dependencies"] = [{"id": "url", "required": False}]  # may fail: nothing injected
    assert [i.path for i in validate_tree(tree, registry).issues] == ["tasks[1].inputs.url"]
    tree[1]["dependencies"] = []
    assert [i.path for i in validate_tree(tree, registry).issues] == ["tasks[1].inputs.url"]


def test_bad_reference(registry):
    tree = good_tree()
    tree[2]["inputs"]["prompt"] = "Summarise ${fetch.body}"
    (issue,) = only(validate_tree(tree, registry), "bad_reference")
    assert issue.path == "tasks[2].inputs.prompt" and "${task_id.result" in issue.hint


def test_undeclared_reference(registry):
    tree = good_tree()
    tree[2]["dependencies"] = []
    tree[0]["dependencies"] = ["fetch", "process"]
    report = validate_tree(tree, registry)
    (issue,) = only(report, "undeclared_reference")
    assert issue.fixable and 'add "fetch" to the dependencies of "process"' in issue.hint
    tree[2]["inputs"]["prompt"] = "${nobody.result}"
    (issue,) = only(validate_tree(tree, registry), "undeclared_reference")
    assert not issue.fixable and "not a task in this tree" in issue.message


def test_undeclared_reference_to_a_later_task_is_not_fixable(registry):
    tree = good_tree()
    tree[1]["inputs"]["url"] = "${process.result.text}"
    (issue,) = only(validate_tree(tree, registry), "undeclared_reference")
    assert not issue.fixable


@pytest.mark.parametrize("priority", [7, -1, "urgent"])
def test_invalid_priority(registry, priority):
    tree = good_tree()
    tree[1]["priority"] = priority
    (issue,) = only(validate_tree(tree, registry), "invalid_priority")
    assert issue.path == "tasks[1].priority" and "0 (most urgent)" in issue.hint


def test_every_problem_is_reported_at_once(registry):
    tree = good_tree()
    tree[1]["dependencies"] = ["fetch", "ghost"]
    tree[1]["schemas"]["method"] = "nope"
    tree[2]["priority"] = 9
    codes = set(validate_tree(json.dumps(tree), registry).codes())
    assert {
        "self_dependency",
        "missing_dependency",
        "unknown_executor",
        "invalid_priority",
    } <= codes


def test_raise_for_issues(registry):
    report = validate_tree([task("a"), task("b")], registry)
    with pytest.raises(ValidationFailed) as info:
        report.raise_for_issues()
    assert "multiple_roots" in str(info.value) and info.value.report is report
    assert validate_tree(good_tree(), registry).raise_for_issues().valid
