"""Trees that do what the request says: the deterministic layer after a valid answer.

Each test feeds the scripted model an answer with one of the wrong patterns seen in
user-style requests, over apflow's real built-in executors, and checks what comes out.
"""

from __future__ import annotations

import json

import pytest

from apflow.core.executor import Effect
from apflow.core.registry import default_registry
from apflow.generator import generate_tree
from apflow.generator.ordering import ordered_by_effects
from apflow.llm import ScriptedClient
from apflow.spec import TaskTreeSpec


@pytest.fixture
def builtins():
    return default_registry.copy()


def answer(*tasks: dict) -> str:
    return json.dumps({"tasks": list(tasks)})


def get(tid: str, url: str, method: str = "GET", **extra) -> dict:
    return {
        "id": tid,
        "schemas": {"method": "rest_executor"},
        "inputs": {"url": url, "method": method, **extra},
    }


def deps(result, task_id: str) -> list[tuple[str, bool]]:
    return [(d.id, d.required) for d in result.tree.get(task_id).dependencies]


def test_builtin_effects_follow_their_inputs(builtins):
    rest = builtins.get("rest_executor")
    assert rest.effect({"url": "u"}) is Effect.READ  # GET by default
    assert rest.effect({"url": "u", "method": "head"}) is Effect.READ
    assert rest.effect({"url": "u", "method": "POST"}) is Effect.WRITE
    assert rest.effect({"url": "u", "method": "${t1.result.text}"}) is Effect.WRITE
    mcp = builtins.get("mcp_tool_executor")
    assert mcp.effect({"tool": "search_tickets"}) is Effect.READ
    assert mcp.effect({"tool": "getUser"}) is Effect.READ
    assert mcp.effect({"tool": "create_issue"}) is Effect.WRITE
    assert mcp.effect({"tool": "settings"}) is Effect.WRITE  # says nothing: a write
    assert builtins.get("command_executor").effect({"argv": ["ls"]}) is Effect.WRITE
    for reader in ("llm_executor", "transform_executor", "scrape_executor"):
        assert builtins.get(reader).effect({}) is Effect.READ
    described = builtins.describe("rest_executor")
    assert described["effects"] == "write" and "GET" in described["effects_note"]


async def test_a_check_after_a_create_waits_for_it(builtins):
    """'Create X with a POST, then GET it to confirm': nothing flows, the order still counts."""
    client = ScriptedClient(
        [
            answer(
                get("t1", "https://api.example.com/users", "POST", json={"name": "Ada"}),
                get("t2", "https://api.example.com/users/ada"),
            )
        ]
    )
    result = await generate_tree(
        "Create the user Ada with a POST to https://api.example.com/users, then GET "
        "https://api.example.com/users/ada to confirm it exists",
        client=client,
        registry=builtins,
    )
    assert deps(result, "t2") == [("t1", True)]
    assert any(f.startswith("t2: now runs after t1") and "POST" in f for f in result.fixes)


async def test_reads_stay_parallel_and_a_write_after_them_waits(builtins):
    client = ScriptedClient(
        [
            answer(
                get("t1", "https://a.example.com/x"),
                get("t2", "https://b.example.com/y"),
                get("t3", "https://hooks.example.com/done", "POST", json={"ok": True}),
                get("t4", "https://hooks.example.com/status"),
            )
        ]
    )
    result = await generate_tree(
        "get a and b, then tell the hook we are done and read its status",
        client=client,
        registry=builtins,
    )
    assert deps(result, "t1") == [] and deps(result, "t2") == []  # reads: parallel
    assert deps(result, "t3") == [("t2", True), ("t1", True)]  # the write waits for both
    assert deps(result, "t4") == [("t3", True)]  # t1/t2 are implied through t3: no extra edge


async def test_no_edge_is_added_where_a_path_already_orders_the_tasks(builtins):
    client = ScriptedClient(
        [
            answer(
                {
                    "id": "t1",
                    "schemas": {"method": "scrape_executor"},
                    "inputs": {"url": "https://blog.example.com/p"},
                },
                {
                    "id": "t2",
                    "schemas": {"method": "llm_executor"},
                    "inputs": {"prompt": "Summarise: ${t1.result.text}"},
                    "dependencies": ["t1"],
                },
                {
                    **get("t3", "https://api.example.com/notes", "POST"),
                    "inputs": {
                        "url": "https://api.example.com/notes",
                        "method": "POST",
                        "json": {"text": "${t2.result.text}"},
                    },
                    "dependencies": ["t2"],
                },
            )
        ]
    )
    result = await generate_tree(
        "scrape the post, summarise it, post the summary", client=client, registry=builtins
    )
    assert deps(result, "t3") == [("t2", True)]
    assert not any("now runs after" in f for f in result.fixes)


def test_a_barrier_on_a_fallback_primary_is_optional(builtins):
    spec = TaskTreeSpec.model_validate(
        {
            "tasks": [
                {"id": "root", "schemas": {"method": "aggregate_results_executor"}},
                {**get("t1", "https://a.example.com/hook", "POST"), "parent_id": "root"},
                {
                    **get("t2", "https://b.example.com/hook", "POST"),
                    "parent_id": "root",
                    "dependencies": [{"id": "t1", "required": False}],
                },
                {**get("t3", "https://a.example.com/status"), "parent_id": "root"},
            ]
        }
    )
    ordered, fixes = ordered_by_effects(spec, builtins)
    assert [(d.id, d.required) for d in ordered.get("t3").dependencies] == [("t2", True)]
    spec.tasks[2].dependencies = []  # no fallback: t2 now waits on t1 as a plain barrier
    ordered, _ = ordered_by_effects(TaskTreeSpec.model_validate(spec.model_dump()), builtins)
    assert [(d.id, d.required) for d in ordered.get("t2").dependencies] == [("t1", True)]


def test_undeclared_executors_impose_no_order(registry):
    """A plugin that does not declare its effect keeps the tree as the model wrote it."""
    spec = TaskTreeSpec.model_validate(
        {
            "tasks": [
                {"id": "root", "schemas": {"method": "aggregate_results_executor"}},
                {
                    "id": "a",
                    "parent_id": "root",
                    "schemas": {"method": "fetch_page"},
                    "inputs": {"url": "https://x.example.com"},
                },
                {
                    "id": "b",
                    "parent_id": "root",
                    "schemas": {"method": "fetch_page"},
                    "inputs": {"url": "https://y.example.com"},
                },
            ]
        }
    )
    assert ordered_by_effects(spec, registry) == (spec, [])
