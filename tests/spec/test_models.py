"""The spec models: accepted forms, defaults, round trips and the published JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

import apflow
from apflow.core.errors import ValidationFailed
from apflow.spec import TaskSpec, TaskTreeSpec, parse_tree

from .conftest import good_tree, task

SCHEMA_FILE = Path(apflow.__file__).parent / "schemas" / "task_tree.schema.json"


def test_published_json_schema_matches_the_model():
    expected = json.dumps(TaskTreeSpec.model_json_schema(), indent=2, sort_keys=True) + "\n"
    current = SCHEMA_FILE.read_text() if SCHEMA_FILE.exists() else ""
    if current != expected:
        SCHEMA_FILE.write_text(expected)
        pytest.fail(f"{SCHEMA_FILE.name} was out of date; it has been rewritten, commit it")


def test_the_published_schema_accepts_the_guide_example_and_rejects_a_bad_task():
    schema = json.loads(SCHEMA_FILE.read_text())
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    assert not list(validator.iter_errors({"tasks": good_tree()}))
    bad = {"tasks": [{"id": "a b", "schemas": {}}]}
    assert {e.validator for e in validator.iter_errors(bad)} >= {"pattern", "required"}


def test_bare_string_dependencies_and_defaults():
    spec = parse_tree([task("a", dependencies="b"), task("b", "llm_executor", dependencies=None)])
    a, b = spec.tasks
    assert [d.model_dump() for d in a.dependencies] == [{"id": "b", "required": True}]
    assert b.dependencies == [] and b.inputs == {} and b.priority == 2
    assert a.name == "fetch_executor" and a.executor == "fetch_executor"
    assert b.name == "llm_executor"


def test_blank_parent_id_means_root_and_null_inputs_mean_empty():
    spec = parse_tree([task("a", parent_id="", inputs=None, params=None)])
    assert spec.tasks[0].parent_id is None and spec.tasks[0].inputs == {}


def test_to_list_round_trips_and_keeps_extra_params():
    tree = good_tree()
    tree[1]["params"] = {"timeout": 5, "retries": 1, "note": "kept"}
    spec = parse_tree(tree)
    plain = spec.to_list()
    assert plain[1]["params"] == {"timeout": 5.0, "retries": 1, "note": "kept"}
    assert plain[0]["params"] == {}
    assert parse_tree(plain) == spec
    assert parse_tree(json.dumps({"tasks": plain})) == spec
    assert parse_tree(spec) is spec


def test_parse_tree_raises_validation_failed_with_the_report():
    with pytest.raises(ValidationFailed) as info:
        parse_tree("not json")
    assert info.value.report.codes() == ["invalid_json"]
    with pytest.raises(ValidationFailed) as info:
        parse_tree([{"id": "x"}])
    assert info.value.report.codes() == ["invalid_shape"]
    assert "schemas" in str(info.value)


def test_task_spec_exposes_dependency_ids():
    spec = TaskSpec.model_validate(task("a", dependencies=["b", {"id": "c", "required": False}]))
    assert spec.dependency_ids() == ["b", "c"]
    assert spec.dependencies[1].required is False


def test_shorthand_forms_are_normalised():
    spec = parse_tree([{"id": "a", "schemas": "llm_executor", "dependencies": {"id": "b"}}])
    assert spec.tasks[0].executor == "llm_executor"
    assert spec.tasks[0].dependency_ids() == ["b"]


def test_shape_issues_say_what_type_was_expected():
    with pytest.raises(ValidationFailed) as info:
        parse_tree([task("a", dependencies=[5]), "b", {"id": 3, "schemas": "x"}])
    lines = info.value.report.to_text().splitlines()
    assert lines == [
        "[invalid_shape] task 'a' at tasks[0].dependencies[0]: dependencies must be a JSON "
        'object, got an integer. Fix: write each dependency as "task_id" or '
        '{"id": "task_id", "required": true}',
        "[invalid_shape] tree at tasks[1]: task 1 must be a JSON object, got a string. Fix: "
        'write each task as a JSON object: {"id": ..., "schemas": {"method": ...}, ...}',
        '[invalid_shape] tree at tasks[2].id: id must be a string, got an integer. Fix: make "id" '
        "a string",
    ]
