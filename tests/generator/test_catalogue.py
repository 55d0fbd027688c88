"""Catalogue selection (BM25 over 200 synthetic executors) and compact rendering."""

from __future__ import annotations

import json

import pytest

from apflow.core.errors import ExecutorRegistrationError
from apflow.core.executor import BaseTask
from apflow.core.registry import ExecutorRegistry
from apflow.executors.aggregate import AggregateResultsExecutor
from apflow.generator import catalogue, generate_tree
from apflow.generator.schemas import methods_by_position
from apflow.llm import ScriptedClient

TOPICS = [
    ("invoice", "Create an invoice PDF for a customer order", ["customer_id", "amount"]),
    ("weather", "Get the weather forecast for a city", ["city", "days"]),
    ("translate", "Translate text into another language", ["text", "target_language"]),
    ("email", "Send an email message to a recipient", ["to", "subject", "body"]),
    ("resize", "Resize an image to given dimensions", ["image_url", "width", "height"]),
]
FILLER_WORDS = ["ledger", "queue", "ticket", "sensor", "badge", "vault", "shelf", "orbit"]


def synthetic_registry(count: int = 200) -> ExecutorRegistry:
    registry = ExecutorRegistry()
    registry.register(AggregateResultsExecutor)
    made = 0
    for name, description, fields in TOPICS:
        registry.register(_executor(f"{name}_executor", description, fields))
        made += 1
    i = 0
    while made < count:
        a, b = FILLER_WORDS[i % 8], FILLER_WORDS[(i // 8) % 8]
        registry.register(
            _executor(f"{a}_{b}_{i}", f"Manage the {a} records of the {b} system", [f"{a}_id"])
        )
        made += 1
        i += 1
    return registry


def _executor(executor_id: str, description: str, fields: list[str]) -> type[BaseTask]:
    schema = {
        "type": "object",
        "required": fields[:1],
        "properties": {f: {"type": "string", "description": f"the {f}"} for f in fields},
    }
    return type(
        executor_id,
        (BaseTask,),
        {"id": executor_id, "description": description, "input_schema": schema},
    )


def test_relevant_executors_are_picked_out_of_200():
    registry = synthetic_registry()
    entries = catalogue.offered(registry)
    assert len(entries) == 201
    requirement = "Get the weather forecast for Paris, translate it to French and email it to me"
    chosen = [e["id"] for e in catalogue.select(entries, requirement, limit=5)]
    assert len(chosen) == 5
    assert chosen[0] == "aggregate_results_executor"
    assert set(chosen[1:4]) == {"weather_executor", "translate_executor", "email_executor"}
    assert "invoice_executor" not in chosen and "resize_executor" not in chosen


def test_selection_is_deterministic_and_keeps_the_aggregator():
    registry = synthetic_registry()
    entries = catalogue.offered(registry)
    first = catalogue.select(entries, "unrelated words xyz", limit=10)
    second = catalogue.select(list(reversed(entries)), "unrelated words xyz", limit=10)
    assert [e["id"] for e in first] == [e["id"] for e in second]
    assert first[0]["id"] == "aggregate_results_executor"
    assert len(first) == 10


def test_small_registries_are_shown_whole():
    entries = catalogue.offered(synthetic_registry(count=8))
    assert len(entries) == 9
    assert len(catalogue.select(entries, "weather", limit=20)) == 9


async def test_generation_offers_only_the_selected_executors():
    registry = synthetic_registry()
    tree = {
        "tasks": [
            {
                "id": "root",
                "schemas": {"method": "aggregate_results_executor"},
                "dependencies": ["w"],
            },
            {
                "id": "w",
                "parent_id": "root",
                "schemas": {"method": "weather_executor"},
                "inputs": {"city": "Paris"},
            },
        ]
    }
    client = ScriptedClient([json.dumps(tree)])
    await generate_tree(
        "weather forecast for Paris", client=client, registry=registry, catalogue_limit=4
    )
    system = client.history[0]["messages"][0]["content"].split("Rules:")[0]
    listed = [line[2:].split(":")[0] for line in system.splitlines() if line.startswith("- ")]
    # 4 selected; the aggregator is not shown because the generator adds the root itself
    assert len(listed) == 3 and "weather_executor" in listed
    assert "aggregate_results_executor" not in system
    schema = client.history[0]["json_schema"]
    for methods in methods_by_position(schema):
        assert sorted(methods) == sorted(listed)


def test_compact_inputs_mark_required_and_show_enums():
    schema = {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "description": "Page URL. Must be http(s)."},
            "method": {"type": "string", "enum": ["GET", "POST"]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    }
    assert catalogue.compact_inputs(schema) == (
        "url* string (Page URL); method GET|POST; tags list[string]"
    )
    assert catalogue.compact_inputs(None) == "none"


def test_render_is_two_lines_per_executor():
    entries = catalogue.offered(synthetic_registry(count=5))
    text = catalogue.render(entries)
    assert len(entries) == 6 and len(text.splitlines()) == 2 * 6
    assert "- weather_executor: Get the weather forecast for a city" in text


def _registry_with_glue() -> ExecutorRegistry:
    registry = ExecutorRegistry()
    registry.register(AggregateResultsExecutor)
    registry.register(_executor("fetch_executor", "Fetch a URL", ["url"]))
    glue = _executor("reshape_executor", "Reshape data: pick or merge", ["data"])
    glue.offer_when = r"\b(merge|pick\w*)\b"
    registry.register(glue)
    return registry


def test_an_executor_with_offer_when_is_offered_only_when_the_request_asks_for_it():
    registry = _registry_with_glue()

    def ids(requirement: str, allow: list[str] | None = None) -> set[str]:
        return {e["id"] for e in catalogue.offered(registry, allow=allow, requirement=requirement)}

    assert "reshape_executor" not in ids("Fetch a and b in parallel and collect both results")
    assert "reshape_executor" in ids("Fetch a and b and MERGE them into one object")
    assert "reshape_executor" in ids("fetch a, then picking the title")
    # naming the executor is asking for it
    assert "reshape_executor" in ids("fetch a and give it to reshape_executor")
    # an allow-list narrows; it does not lift the condition
    allow = ["fetch_executor", "reshape_executor"]
    assert ids("Fetch a and b", allow) == {"aggregate_results_executor", "fetch_executor"}
    # without a requirement (listing executors) everything is there
    assert "reshape_executor" in {e["id"] for e in catalogue.offered(registry)}


def test_offer_when_must_be_a_regular_expression_at_registration():
    broken = _executor("broken_executor", "x", ["a"])
    broken.offer_when = r"(merge"
    with pytest.raises(ExecutorRegistrationError, match="offer_when is not a regular expression"):
        ExecutorRegistry().register(broken)


@pytest.mark.parametrize(
    ("request_text", "offered"),
    [
        # held out from the builtin suite: phrasings written for this test
        ("Get https://a.example/x and https://a.example/y and return both", False),
        ("Scrape https://news.example and summarise it with the LLM", False),
        ("Download the list from https://a.example/list and keep only the open ones", True),
        ("Fetch https://a.example/users and pick their email fields", True),
        ("Call two endpoints and combine the answers into a single object", True),
        ("Count the items returned by https://a.example/items", True),
    ],
)
def test_transform_is_offered_for_reshaping_requests_only(request_text: str, offered: bool):
    from apflow.core.registry import default_registry

    ids = {e["id"] for e in catalogue.offered(default_registry, requirement=request_text)}
    assert ("transform_executor" in ids) is offered


def test_a_first_sentence_is_not_cut_inside_brackets():
    text = "Call an HTTP API (GET/POST/...; JSON endpoints) and return the status. More."
    assert (
        catalogue._short(text, 200)
        == "Call an HTTP API (GET/POST/...; JSON endpoints) and return the status"
    )
