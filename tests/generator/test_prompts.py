"""Prompt templates render strictly; few-shot examples stay valid against the registry."""

from __future__ import annotations

from importlib import resources

import pytest

from apflow.core.errors import PromptError
from apflow.core.executor import BaseTask
from apflow.core.registry import default_registry
from apflow.generator import examples, prompting
from apflow.spec import AGGREGATOR, validate_tree

SAMPLE = {
    "catalogue": "- fetch_page: Download a page\n  in: url* string",
    "examples": [
        {
            "requirement": "get a page",
            "plan": '{"steps":[]}',
            "planned": '{"steps":[]}',
            "tree": '{"tasks":[]}',
        }
    ],
    "requirement": "Fetch https://example.com and summarise it",
    "plan": '{"steps":[{"id":"fetch","does":"get it","executor":"fetch_page","needs":[]}]}',
    "issues": [
        {
            "code": "unknown_executor",
            "task_id": "fetch",
            "path": "tasks[1].schemas.method",
            "message": "no executor 'web_get'",
            "hint": "use one of: fetch_page",
        }
    ],
}
NEEDS = {
    "single_shot.j2": ["catalogue", "examples", "requirement"],
    "plan.j2": ["catalogue", "examples", "requirement"],
    "structure.j2": ["catalogue", "examples", "requirement", "plan"],
    "repair.j2": ["issues", "requirement"],
    "baseline.j2": ["catalogue", "requirement"],
}


def test_every_phase_has_its_own_template():
    assert set(prompting.template_names()) == set(NEEDS)


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_template_renders_with_sample_inputs(name):
    variables = {k: SAMPLE[k] for k in NEEDS[name]}
    messages = prompting.render_messages(name, **variables)
    text = "\n".join(m["content"] for m in messages)
    assert messages[-1]["role"] == "user"
    assert "{{" not in text and "{#" not in text and "=== user ===" not in text
    if "requirement" in variables:
        assert SAMPLE["requirement"] in text
    if "issues" in variables:
        assert "use one of: fetch_page" in text and "[unknown_executor]" in text


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_template_starts_with_a_header_saying_what_it_is_for(name):
    source = resources.files("apflow.prompts").joinpath(name).read_text()
    assert source.startswith("{#")
    assert name in source.split("#}", 1)[0]


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_missing_variable_raises_prompt_error(name):
    variables = {k: SAMPLE[k] for k in NEEDS[name][1:]}
    with pytest.raises(PromptError) as info:
        prompting.render(name, **variables)
    assert NEEDS[name][0] in str(info.value)


def test_missing_template_is_a_prompt_error():
    with pytest.raises(PromptError, match="not found"):
        prompting.render("nope.j2")


def _registry_for_examples():
    """The live registry; schema-only stand-ins for built-ins not registered yet."""
    registry = default_registry.copy()
    for example in examples.load_examples():
        for executor_id in examples.executors_of(example):
            if executor_id not in registry:
                stand_in = type(executor_id, (BaseTask,), {"id": executor_id})
                registry.register(stand_in)
    return registry


def test_examples_are_valid_trees_with_matching_plans():
    registry = _registry_for_examples()
    loaded = examples.load_examples()
    assert len(loaded) >= 2
    for example in loaded:
        report = validate_tree(example["tasks"], registry)
        assert report.valid, f"{example['name']}: {report.to_text()}"
        # a plan may end in a "collect" step on the aggregator; the generator leaves it out
        steps = example["plan"]["steps"]
        planned = {(s["id"], s["executor"]) for s in steps if s["executor"] != AGGREGATOR}
        built = {(t["id"], t["schemas"]["method"]) for t in example["tasks"] if t["id"] != "root"}
        assert planned == built, example["name"]


def test_examples_are_only_shown_when_their_executors_are_offered():
    offered = {"aggregate_results_executor", "rest_executor"}
    picked = examples.pick("get the weather for two cities", offered, count=5)
    assert [e["name"] for e in picked] == ["parallel_fetch.json", "create_then_check.json"]
    assert examples.pick("anything", {"aggregate_results_executor"}) == []
