"""repair_tree: each deterministic fix, logged, and what it must leave alone."""

from __future__ import annotations

import pytest

from apflow.core.errors import ValidationFailed
from apflow.spec import TaskTreeSpec, parse_tree, repair_tree, validate_tree

from .conftest import good_tree, task


def repaired(tree, registry):
    spec, fixes = repair_tree(tree, registry=registry)
    return spec, fixes, validate_tree(spec, registry)


def test_a_valid_tree_is_returned_unchanged(registry):
    spec, fixes, report = repaired(good_tree(), registry)
    assert fixes == [] and report.valid
    assert spec == parse_tree(good_tree())
    spec2, fixes2 = repair_tree(spec, report=report, registry=registry)
    assert fixes2 == [] and spec2 == spec


def test_forest_is_wrapped_in_a_new_aggregator_root(registry):
    tree = [task("a", inputs={"url": "u"}), task("b", "llm_executor", dependencies=["a"])]
    spec, fixes, report = repaired(tree, registry)
    assert report.valid, report.to_text()
    root = spec.tasks[0]
    assert root.id == "root" and root.executor == "aggregate_results_executor"
    assert root.dependency_ids() == ["a", "b"]
    assert [t.parent_id for t in spec.tasks[1:]] == ["root", "root"]
    assert any("added an aggregate_results_executor root 'root'" in f for f in fixes)


def test_non_aggregator_root_gets_a_new_root_with_a_free_id(registry):
    tree = [task("root"), task("process", "llm_executor", parent_id="root")]
    spec, fixes, report = repaired(tree, registry)
    assert report.valid, report.to_text()
    assert spec.tasks[0].id == "root_1" and spec.get("root").parent_id == "root_1"
    assert spec.tasks[0].dependency_ids() == ["root"]
    assert spec.get("process").parent_id == "root"


def test_the_only_aggregator_among_roots_becomes_the_root(registry):
    tree = good_tree() + [task("stray", inputs={"url": "x"})]
    spec, fixes, report = repaired(tree, registry)
    assert report.valid and len(spec.tasks) == 4
    assert spec.get("stray").parent_id == "root"
    assert "stray" in spec.get("root").dependency_ids()


def test_orphans_are_reparented_and_the_root_depends_on_them(registry):
    tree = good_tree() + [task("lost", parent_id="ghost"), task("kid", parent_id="lost")]
    spec, fixes, report = repaired(tree, registry)
    assert report.valid, report.to_text()
    assert spec.get("lost").parent_id == "root" and spec.get("kid").parent_id == "lost"
    assert "lost" in spec.get("root").dependency_ids()
    assert "task 'lost': parent 'ghost' does not exist; set parent_id to 'root'" in fixes


def test_dependency_forms_duplicates_and_self_edges(registry):
    tree = good_tree()
    tree[2]["dependencies"] = ["fetch", {"id": "fetch", "required": False}, "process"]
    spec, fixes, report = repaired(tree, registry)
    assert report.valid
    assert [d.model_dump() for d in spec.get("process").dependencies] == [
        {"id": "fetch", "required": True}
    ]
    assert "task 'process': removed its dependency on itself" in fixes
    assert "task 'process': removed a repeated dependency on 'fetch'" in fixes
    assert any("wrote dependencies as" in f for f in fixes)


def test_a_repeated_dependency_is_required_if_any_repeat_is_and_the_input_is_not_changed(
    registry,
):
    tree = good_tree()
    tree[2]["dependencies"] = [{"id": "fetch", "required": False}, "fetch"]
    given = TaskTreeSpec.model_validate({"tasks": tree})
    spec, fixes = repair_tree(given, registry=registry)
    assert [d.model_dump() for d in spec.get("process").dependencies] == [
        {"id": "fetch", "required": True}
    ]
    assert [d.required for d in given.get("process").dependencies] == [False, True]


def test_unknown_fields_are_dropped_and_names_filled(registry):
    tree = good_tree()
    tree[1]["description"] = "fetch it"
    tree[2]["name"] = " "
    spec, fixes, report = repaired(tree, registry)
    assert report.valid
    assert "task 'fetch': removed unknown field(s) description" in fixes
    assert "task 'process': set the empty name to the executor id 'llm_executor'" in fixes
    assert spec.get("process").name == "llm_executor"
    assert spec.get("fetch").name == "fetch_executor"


def test_duplicate_id_is_renamed_only_when_unreferenced(registry):
    tree = good_tree() + [task("extra", parent_id="root"), task("extra", parent_id="root")]
    spec, fixes, report = repaired(tree, registry)
    assert report.valid, report.to_text()
    assert [t.id for t in spec.tasks][-2:] == ["extra", "extra_2"]
    tree[3]["dependencies"] = ["fetch"]
    tree[2]["dependencies"].append("extra")
    spec, fixes, report = repaired(tree, registry)
    assert "duplicate_id" in report.codes()


def test_executor_is_snapped_only_when_unambiguous(registry):
    tree = good_tree()
    tree[1]["schemas"]["method"] = "FETCH"
    tree[2]["schemas"]["method"] = "llm-executor"
    spec, fixes, report = repaired(tree, registry)
    assert report.valid
    assert spec.get("fetch").executor == "fetch_executor"
    assert spec.get("process").executor == "llm_executor"
    assert spec.get("process").name == "llm_executor"
    tree[1]["schemas"]["method"] = "fetcher"
    spec, fixes, report = repaired(tree, registry)
    assert spec.get("fetch").executor == "fetcher" and "unknown_executor" in report.codes()


def test_undeclared_reference_gets_its_dependency(registry):
    tree = good_tree()
    tree[2]["dependencies"] = []
    spec, fixes, report = repaired(tree, registry)
    assert report.valid, report.to_text()
    assert spec.get("process").dependency_ids() == ["fetch"]
    assert any("added dependency 'fetch' used by ${fetch.result.body}" in f for f in fixes)


def test_repair_never_closes_a_cycle_or_invents_inputs(registry):
    tree = good_tree()
    tree[1]["inputs"] = {"url": "${process.result.text}"}
    tree[1]["schemas"]["method"] = "http_get_executor"
    spec, fixes, report = repaired(tree, registry)
    assert spec.get("fetch").dependency_ids() == []
    assert "undeclared_reference" in report.codes()
    tree[1]["inputs"] = {}
    spec, fixes, report = repaired(tree, registry)
    assert spec.get("fetch").inputs == {} and "invalid_inputs" in report.codes()


def test_unparsable_input_raises(registry):
    with pytest.raises(ValidationFailed):
        repair_tree("{oops", registry=registry)
    with pytest.raises(ValidationFailed) as info:
        repair_tree([{"id": "a"}], registry=registry)
    assert info.value.report.codes() == ["invalid_shape"]


def test_every_issue_marked_fixable_is_gone_after_repair(registry):
    tree = [
        task("a", dependencies=["a", "a"], description="x"),
        task("b", "LLM", parent_id="ghost", inputs={"prompt": "${a.result}"}),
        task("c", "llm_executor", parent_id="b"),
    ]
    first = validate_tree(repair_tree(tree, registry=registry)[0], registry)
    assert first.valid, first.to_text()


def test_a_parent_loop_is_cut_at_its_first_task(registry):
    tree = good_tree() + [task("a", parent_id="b"), task("b", parent_id="a")]
    tree[0]["dependencies"] += ["a"]
    spec, fixes, report = repaired(tree, registry)
    assert report.valid, report.to_text()
    assert spec.get("a").parent_id == "root" and spec.get("b").parent_id == "a"
    assert "task 'a': parent_id 'b' closed a parent loop; set it to 'root'" in fixes
    spec, fixes, report = repaired([task("solo", parent_id="solo")], registry)
    assert report.valid and spec.tasks[0].parent_id is None


def test_a_root_with_a_shared_id_is_wrapped_not_reused(registry):
    tree = [
        task("a", "llm_executor"),
        task("a", "llm_executor", parent_id="a"),
        task("a", "aggregate_results_executor"),
    ]
    spec, fixes, report = repaired(tree, registry)
    assert spec.tasks[0].id == "root" and spec.tasks[0].executor == "aggregate_results_executor"
    assert "parent_cycle" not in report.codes() and "duplicate_id" in report.codes()
    assert repair_tree(spec, registry=registry)[1] == []


def test_renaming_a_long_duplicate_id_keeps_it_within_the_id_limit(registry):
    long = "x" * 100
    tree = good_tree() + [task(long, parent_id="root"), task(long, parent_id="root")]
    spec, fixes, report = repaired(tree, registry)
    assert report.valid, report.to_text()
    assert spec.tasks[-1].id == "x" * 90 + "_2"
