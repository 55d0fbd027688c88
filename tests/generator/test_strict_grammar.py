"""The strict tree schema: what the validator checks, moved into the decoding.

The offline tests check the schema itself with jsonschema (a tree the validator refuses for
structure, ids, executors or input types does not match it). The ``local_model`` tests decode
under it with the smallest installed model: whatever a tiny model makes of the request, the
answer matches the schema and the validator finds none of those problems in it.
"""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator

from apflow.core.registry import default_registry
from apflow.generator import schemas
from apflow.spec import validate_tree

ENTRIES = [default_registry.describe(i) for i in default_registry.ids()]
STRICT = Draft202012Validator(schemas.strict_tree_schema(ENTRIES))
#: What the grammar makes impossible (the rest needs judgement or run-time knowledge).
BY_CONSTRUCTION = {
    "invalid_json",
    "invalid_shape",
    "duplicate_id",
    "missing_dependency",
    "self_dependency",
    "dependency_cycle",
    "unknown_executor",
    "invalid_inputs",
    "bad_reference",
}


def task(k, method, inputs, deps=None):
    out = {"id": f"t{k}", "schemas": {"method": method}, "inputs": inputs}
    if deps:
        out["dependencies"] = deps
    return out


GOOD = [
    task(1, "rest_executor", {"url": "https://a.example", "method": "POST", "json": {"x": 1}}),
    task(
        2,
        "transform_executor",
        {"data": "${t1.result.json}", "operations": [{"op": "filter", "where": {"a": 1}}]},
        ["t1"],
    ),
    task(
        3,
        "llm_executor",
        {"prompt": "costs $5: ${t2.result[0]}"},
        [{"id": "t1", "required": False}],
    ),
]


def test_a_valid_tree_matches_the_schema():
    assert not [e.message for e in STRICT.iter_errors({"tasks": GOOD})]


@pytest.mark.parametrize(
    "why, tasks",
    [
        ("a list where a string goes", [task(1, "rest_executor", {"url": ["https://a"]})]),
        ("an enum in the wrong case", [task(1, "rest_executor", {"url": "u", "method": "post"})]),
        (
            "an op without its required field",
            [task(1, "transform_executor", {"operations": [{"op": "filter"}]})],
        ),
        ("a required input missing", [task(1, "scrape_executor", {})]),
        ("an unknown input key", [task(1, "scrape_executor", {"url": "u", "bogus": 1})]),
        ("an unknown executor", [task(1, "fetch_executor", {"url": "u"})]),
        ("a self-dependency", [task(1, "scrape_executor", {"url": "u"}, ["t1"])]),
        (
            "a dependency on a later task",
            [
                task(1, "scrape_executor", {"url": "u"}, ["t2"]),
                task(2, "scrape_executor", {"url": "u"}),
            ],
        ),
        (
            "a reference to a later task in free text",
            [
                task(1, "llm_executor", {"prompt": "see ${t2.result}"}),
                task(2, "llm_executor", {"prompt": "x"}),
            ],
        ),
        ("a reference to itself", [task(1, "rest_executor", {"url": "${t1.result.url}"})]),
        ("an id out of position", [{**task(1, "scrape_executor", {"url": "u"}), "id": "fetch"}]),
        ("the aggregator written by the model", [task(1, "aggregate_results_executor", {})]),
        ("too many tasks", [task(k, "scrape_executor", {"url": "u"}) for k in range(1, 12)]),
    ],
)
def test_invalid_trees_do_not_match_the_schema(why, tasks):
    assert not STRICT.is_valid({"tasks": tasks}), why


def test_the_plan_schema_limits_needs_to_earlier_steps():
    plan = Draft202012Validator(schemas.strict_plan_schema([e["id"] for e in ENTRIES]))
    step = {"id": "t1", "does": "fetch", "executor": "rest_executor", "needs": []}
    assert plan.is_valid({"steps": [step]})
    assert not plan.is_valid({"steps": [{**step, "needs": ["t1"]}]})
    second = {"id": "t2", "does": "sum", "executor": "llm_executor", "needs": ["t1"]}
    assert plan.is_valid({"steps": [step, second]})
    assert not plan.is_valid({"steps": [step, {**second, "needs": ["t3"]}]})


def test_the_structure_schema_fixes_ids_and_executors_from_the_plan():
    steps = [
        {"id": "t1", "does": "fetch", "executor": "scrape_executor", "needs": []},
        {"id": "t2", "does": "sum", "executor": "llm_executor", "needs": ["t1"]},
    ]
    planned = Draft202012Validator(schemas.planned_tree_schema(ENTRIES, steps))
    assert schemas.methods_by_position(planned.schema) == [["scrape_executor"], ["llm_executor"]]
    ok = [
        task(1, "scrape_executor", {"url": "u"}),
        task(2, "llm_executor", {"prompt": "${t1.result}"}, ["t1"]),
    ]
    assert planned.is_valid({"tasks": ok})
    assert not planned.is_valid({"tasks": ok[:1]})  # one task per step
    swapped = [task(1, "llm_executor", {"prompt": "p"}), task(2, "scrape_executor", {"url": "u"})]
    assert not planned.is_valid({"tasks": swapped})


def test_unsupported_keywords_loosen_never_break_the_schema():
    odd = {
        "type": "object",
        "required": ["when"],
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "shape": {"$ref": "#/$defs/nowhere"},
        },
    }
    converted = schemas.strict_inputs(odd, ["t1"])
    validator = Draft202012Validator(converted)
    assert validator.is_valid({"when": "2026-01-01T00:00:00Z", "tags": ["a", "a"], "shape": 3})
    assert validator.is_valid({"when": "${t1.result.date}"})
    assert not validator.is_valid({})


@pytest.mark.local_model
async def test_the_tiny_model_can_only_write_structurally_valid_trees():
    from apflow.llm.local import LocalClient
    from tests.llm.test_local_client import _model_or_skip

    client = LocalClient(model_path=_model_or_skip("smollm2-135m"), n_ctx=2048)
    schema = schemas.strict_tree_schema(ENTRIES)
    checked = 0
    for request in (
        "Scrape https://example.com, then summarise the page with an LLM and POST it to https://x.io",
        "Filter the active users from https://api.example.com/users",
    ):
        messages = [
            {"role": "system", "content": "Answer with a JSON task list. Ids t1, t2, ..."},
            {"role": "user", "content": request},
        ]
        answer = await client.complete(messages, json_schema=schema, max_tokens=400)
        if client.last_stats.get("decoded_tokens", 0) + answer.usage.forced_tokens >= 400:
            continue  # cut off at the budget: an unfinished answer is not the grammar's fault
        tree = json.loads(answer.text)
        assert STRICT.is_valid(tree), answer.text
        assert answer.usage.forced_tokens > 0
        report = validate_tree(tree["tasks"], default_registry)
        codes = {i.code for i in report.issues}
        assert not codes & BY_CONSTRUCTION, (codes, answer.text)
        checked += 1
    assert checked, "every answer ran into the token budget"


def test_the_structure_schema_writes_the_plans_needs_as_dependencies():
    steps = [
        {"id": "t1", "does": "main", "executor": "rest_executor", "needs": []},
        {"id": "t2", "does": "mirror", "executor": "rest_executor", "needs": []},
        {
            "id": "t3",
            "does": "use whichever worked",
            "executor": "llm_executor",
            "needs": [{"id": "t1", "required": False}, {"id": "t2", "required": False}],
        },
    ]
    planned = Draft202012Validator(schemas.planned_tree_schema(ENTRIES, steps))
    tasks = [task(1, "rest_executor", {"url": "a"}), task(2, "rest_executor", {"url": "b"})]
    third = task(3, "llm_executor", {"prompt": "${t1.result} ${t2.result}"}, steps[2]["needs"])
    assert planned.is_valid({"tasks": [*tasks, third]})
    assert not planned.is_valid({"tasks": [*tasks, {**third, "dependencies": ["t1", "t2"]}]})
    assert not planned.is_valid({"tasks": [*tasks, {**third, "dependencies": []}]})
    with_deps = {**tasks[1], "dependencies": ["t1"]}  # the plan says t2 needs nothing
    assert not planned.is_valid({"tasks": [tasks[0], with_deps, third]})


def test_strings_in_inputs_are_bounded_so_a_looping_model_closes_its_answer():
    inputs = schemas.strict_inputs(
        {
            "type": "object",
            "properties": {
                "free": {"type": "string"},
                "short": {"type": "string", "maxLength": 8},
                "long": {"type": "string", "minLength": 900},
            },
        },
        ["t1"],
    )
    props = inputs["properties"]
    assert props["free"]["maxLength"] == schemas.MAX_STRING_CHARS
    assert props["short"]["maxLength"] == 8
    assert props["long"]["maxLength"] >= 900  # never below what is required
    validator = Draft202012Validator(inputs)
    assert validator.is_valid({"free": "x" * schemas.MAX_STRING_CHARS})
    assert not validator.is_valid({"free": "QYJt" * 500})


@pytest.mark.local_model
async def test_the_tiny_model_stops_a_string_at_its_bound():
    from apflow.llm.local import LocalClient
    from tests.llm.test_local_client import _model_or_skip

    client = LocalClient(model_path=_model_or_skip("smollm2-135m"), n_ctx=2048)
    field = {"type": "string", "minLength": 30, "maxLength": 40}
    schema = schemas.strict_inputs({"type": "object", "properties": {"a": field}}, ["t1"])
    schema["required"] = ["a"]
    ask = [{"role": "user", "content": "Write the word QYJt 100 times without spaces, in a."}]
    answer = await client.complete(ask, json_schema=schema, max_tokens=200)
    assert 30 <= len(json.loads(answer.text)["a"]) <= 40, answer.text


def test_integers_stay_in_the_safe_range_unless_the_schema_bounds_them():
    inputs = schemas.strict_inputs(
        {
            "type": "object",
            "properties": {
                "free": {"type": "integer"},
                "small": {"type": "integer", "minimum": 1, "exclusiveMaximum": 10},
                "ratio": {"type": "number"},
            },
        },
        ["t1"],
    )
    validator = Draft202012Validator(inputs)
    assert validator.is_valid({"free": schemas.MAX_SAFE_INTEGER, "small": 9, "ratio": 1e300})
    assert validator.is_valid({"free": -schemas.MAX_SAFE_INTEGER, "small": 1})
    assert not validator.is_valid({"free": 10**24})  # a runaway "1000...": closed earlier
    assert not validator.is_valid({"free": -(10**24)})
    assert not validator.is_valid({"small": 10})  # the schema's own bound is kept
    assert validator.is_valid({"free": "${t1.result.count}"})


@pytest.mark.local_model
async def test_the_tiny_model_closes_an_integer_at_the_safe_bound():
    from apflow.llm.local import LocalClient
    from tests.llm.test_local_client import _model_or_skip

    client = LocalClient(model_path=_model_or_skip("smollm2-135m"), n_ctx=2048)
    schema = schemas.strict_inputs({"type": "object", "properties": {"n": {"type": "integer"}}}, [])
    schema["required"] = ["n"]
    ask = [
        {"role": "user", "content": 'Copy this JSON exactly: {"n":12345678901234567890123456789}'}
    ]
    answer = await client.complete(ask, json_schema=schema, max_tokens=60)
    n = json.loads(answer.text)["n"]
    assert len(str(n)) >= 10, answer.text  # it did copy the digits (unbounded: all 29 of them)
    assert abs(n) <= schemas.MAX_SAFE_INTEGER, answer.text


OUTPUT = {
    "type": "object",
    "properties": {
        "answer": {"type": "number"},
        "location": {"type": "object", "properties": {"lat": {"type": "number"}}},
        "items": {"type": "array", "items": {"type": "object", "properties": {"id": {}}}},
        "raw": {"description": "any JSON"},
    },
}


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("", True),
        (".answer", True),
        (".location", True),
        (".location.lat", True),
        (".items[0].id", True),
        (".items[2]", True),
        (".raw.anything[3].deeper", True),  # an open part of the schema takes any path
        (".business_id", False),  # not declared: a run-time reference_error
        (".answer.value", False),  # a number has no fields
        (".location.long", False),
        (".items.id", False),  # an array is indexed
    ],
)
def test_reference_paths_follow_the_producers_output_schema(path, allowed):
    pattern = "^" + schemas.result_paths(OUTPUT) + "$"
    assert bool(re.fullmatch(pattern, path)) is allowed


def test_reference_paths_are_free_without_a_closed_output_schema():
    odd = ({"type": [{}]}, {"type": 3}, {"properties": []})
    for output in (None, {}, {"description": "the transformed value"}, {"type": "object"}, *odd):
        assert re.fullmatch(schemas.result_paths(output), ".any[0].path")
    open_object = {"type": "object", "properties": {"a": {}}, "additionalProperties": {}}
    assert re.fullmatch(schemas.result_paths(open_object), ".b")


def test_fields_a_reference_cannot_spell_leave_only_the_whole_result():
    spaced = {"type": "object", "properties": {"Exchange Rate": {}, "From Code": {}}}
    assert schemas.result_paths(spaced) == ""  # ${t1.result} only, not ${t1.result.rate}
    mixed = {"type": "object", "properties": {"Exchange Rate": {}, "rate": {}}}
    assert re.fullmatch(schemas.result_paths(mixed), ".rate")
    assert not re.fullmatch(schemas.result_paths(mixed), ".exchange_rate")


def test_the_structure_schema_lets_references_name_only_declared_fields():
    entries = [
        {"id": "lookup", "input_schema": {"type": "object"}, "output_schema": OUTPUT},
        {
            "id": "report",
            "input_schema": {
                "type": "object",
                "properties": {"value": {"type": "number"}, "note": {"type": "string"}},
            },
        },
    ]
    steps = [
        {"id": "t1", "does": "look up", "executor": "lookup", "needs": []},
        {"id": "t2", "does": "report it", "executor": "report", "needs": ["t1"]},
    ]
    planned = Draft202012Validator(schemas.planned_tree_schema(entries, steps))

    def tree(inputs):
        return {
            "tasks": [
                task(1, "lookup", {}),
                {**task(2, "report", inputs), "dependencies": ["t1"]},
            ]
        }

    assert planned.is_valid(tree({"value": "${t1.result.answer}"}))
    assert planned.is_valid(tree({"note": "lat ${t1.result.location.lat}, all ${t1.result}"}))
    assert not planned.is_valid(tree({"value": "${t1.result.business_id}"}))
    assert not planned.is_valid(tree({"note": "id ${t1.result.business_id}"}))


@pytest.mark.local_model
async def test_the_tiny_model_cannot_refer_to_a_field_the_producer_does_not_declare():
    from apflow.llm.local import LocalClient
    from tests.llm.test_local_client import _model_or_skip

    client = LocalClient(model_path=_model_or_skip("smollm2-135m"), n_ctx=2048)
    output = {"type": "object", "properties": {"answer": {"type": "number"}, "city": {}}}
    text_input = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    entries = [
        {"id": "lookup", "input_schema": text_input, "output_schema": output},
        {"id": "report", "input_schema": text_input},
    ]
    steps = [
        {"id": "t1", "does": "look up", "executor": "lookup", "needs": []},
        {"id": "t2", "does": "report the business id", "executor": "report", "needs": ["t1"]},
    ]
    lure = (
        '{"tasks":[{"id":"t1","schemas":{"method":"lookup"},"inputs":{"q":"pizza"}},'
        '{"id":"t2","schemas":{"method":"report"},"inputs":{"q":"${t1.result.business_id}"},'
        '"dependencies":["t1"]}]}'
    )
    ask = [{"role": "user", "content": f"Copy this JSON exactly: {lure}"}]
    schema = schemas.planned_tree_schema(entries, steps)
    answer = await client.complete(ask, json_schema=schema, max_tokens=200)
    value = json.loads(answer.text)["tasks"][1]["inputs"]["q"]
    assert value.startswith("${t1.result"), answer.text  # it did wire t1, as asked
    assert "business_id" not in value, answer.text


def test_unasked_optional_inputs_are_left_out_of_the_grammar_until_the_request_names_them():
    """A 1.5B model fills every option it is offered ("max_bytes": 1048576000000000)."""
    from apflow.core.registry import default_registry

    entries = [default_registry.describe(i) for i in ("scrape_executor", "rest_executor")]
    plain = {e["id"]: e for e in schemas.asked_inputs(entries, "scrape https://x.example.com")}
    scrape = set(plain["scrape_executor"]["input_schema"]["properties"])
    assert scrape == {"url"}  # selector, limits and timeouts: not asked for
    rest = set(plain["rest_executor"]["input_schema"]["properties"])
    assert {"url", "method", "json", "query"} <= rest and not {"timeout", "max_bytes"} & rest
    named = schemas.asked_inputs(entries, "GET it with a 5 s timeout and header X-Key: 1")
    rest = set(named[1]["input_schema"]["properties"])
    assert {"timeout", "headers"} <= rest
    grammar = Draft202012Validator(schemas.strict_tree_schema(list(plain.values())))
    junk = {
        "tasks": [
            {
                "id": "t1",
                "schemas": {"method": "scrape_executor"},
                "inputs": {"url": "https://x.example.com", "selector": "h1"},
            }
        ]
    }
    assert not grammar.is_valid(junk)
    assert entries[0]["input_schema"]["properties"].get("selector")  # the registry is untouched
