"""Tolerant JSON extraction: the habits of weak models, and clear reports when it fails."""

from __future__ import annotations

import pytest

from apflow.core.errors import LLMError
from apflow.generator.parsing import steps_from, tasks_from
from apflow.llm.json_answer import JSONParseError, cut_off, parse_json

TREE = {"tasks": [{"id": "a", "schemas": {"method": "m"}}]}


@pytest.mark.parametrize(
    "text",
    [
        '{"tasks": [{"id": "a", "schemas": {"method": "m"}}]}',
        '```json\n{"tasks": [{"id": "a", "schemas": {"method": "m"}}]}\n```',
        'Here is the tree:\n```\n{"tasks": [{"id": "a", "schemas": {"method": "m"}}]}\n```\nDone.',
        'Sure. {"tasks": [{"id": "a", "schemas": {"method": "m"}}]} Hope this helps!',
        '{"tasks": [{"id": "a", "schemas": {"method": "m",},},],}',
        'The format is {x}. Answer: {"tasks": [{"id": "a", "schemas": {"method": "m"}}]}',
    ],
)
def test_common_model_habits_are_tolerated(text):
    assert parse_json(text) == TREE


def test_commas_and_brackets_inside_strings_are_left_alone():
    text = '{"tasks": [{"id": "a", "schemas": {"method": "m"}, "inputs": {"t": "x, ]}"}}]}'
    assert parse_json(text)["tasks"][0]["inputs"]["t"] == "x, ]}"


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        (TREE, ["a"]),
        (TREE["tasks"], ["a"]),
        (TREE["tasks"][0], ["a"]),
        ({"tree": TREE}, ["a"]),
    ],
)
def test_tree_shapes_are_normalised_to_a_task_list(value, ids):
    assert [t["id"] for t in tasks_from(value)] == ids


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty answer"),
        ("I cannot do that.", "no JSON object"),
        ('{"tasks": [{"id": "a", }', "cut off at the length limit"),
        ('{"x": tru}', "not valid JSON"),
        ('{"a": 1, "b": }', "line 1 column"),
    ],
)
def test_unreadable_answers_say_what_failed(text, words):
    with pytest.raises(JSONParseError) as info:
        parse_json(text)
    assert words in str(info.value)
    assert isinstance(info.value, LLMError) and info.value.text == text


def test_an_object_that_is_not_a_tree_is_reported_with_its_keys():
    with pytest.raises(JSONParseError, match=r"keys \['answer'\]"):
        tasks_from({"answer": 42})


def test_plan_steps_accept_an_object_or_a_bare_list():
    step = {"id": "s", "does": "x", "executor": "e", "needs": []}
    assert steps_from({"steps": [step]}) == [step]
    assert steps_from([step]) == [step]
    with pytest.raises(JSONParseError):
        steps_from({"steps": []})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": [1, 2', True),
        ('{"a": "}"', True),
        ('{"a": 1}', False),
        ('He said "hi, ]" then {"a": 1}', False),
        ("no json here", False),
        ('[{"t": "x\\"]"}', True),
    ],
)
def test_cut_off_tracks_strings_inside_json_only(text, expected):
    assert cut_off(text) is expected
