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


def scrape(tid: str, url: str) -> dict:
    return {"id": tid, "schemas": {"method": "scrape_executor"}, "inputs": {"url": url}}


THREE = (
    "Scrape https://a.example.com/plans, https://b.example.com/plans and "
    "https://c.example.com/plans, then compare them with the LLM"
)


async def test_collapsed_scrapes_are_split_into_one_task_per_url(builtins):
    """One scrape and the other URLs pasted into the prompt: the LLM would never see B or C."""
    collapsed = answer(
        scrape("t1", "https://a.example.com/plans"),
        {
            "id": "t2",
            "schemas": {"method": "llm_executor"},
            "inputs": {
                "prompt": "Compare ${t1.result.text} with https://b.example.com/plans and "
                "https://c.example.com/plans"
            },
            "dependencies": ["t1"],
        },
    )
    result = await generate_tree(THREE, client=ScriptedClient([collapsed]), registry=builtins)
    scrapes = [t for t in result.tree.tasks if t.executor == "scrape_executor"]
    assert [t.inputs["url"] for t in scrapes] == [
        "https://a.example.com/plans",
        "https://b.example.com/plans",
        "https://c.example.com/plans",
    ]
    llm = next(t for t in result.tree.tasks if t.executor == "llm_executor")
    new_ids = [t.id for t in scrapes[1:]]
    assert set(new_ids) <= set(llm.dependency_ids())
    assert "https://" not in llm.inputs["prompt"]
    assert all("${" + i + ".result.text}" in llm.inputs["prompt"] for i in new_ids)
    root = result.tree.roots()[0]
    assert set(new_ids) <= set(root.dependency_ids())
    assert sum("had pasted as text" in f for f in result.fixes) == 2
    assert result.warnings == []


async def test_a_link_sent_on_purpose_is_not_fetched(builtins):
    """A URL that a task sends as a value (a POST body) is data, not a page to fetch."""
    tree = answer(
        get("t1", "https://hooks.example.com/x", "POST", json={"text": "https://example.com/r"})
    )
    result = await generate_tree(
        "post the link https://example.com/r to https://hooks.example.com/x",
        client=ScriptedClient([tree]),
        registry=builtins,
    )
    assert [t.id for t in result.tree.tasks if t.id != "root"] == ["t1"]
    assert result.warnings == ["the request names https://example.com/r, and no task fetches it"]


async def test_a_command_while_commands_are_disabled_is_refused_before_any_call(
    builtins, monkeypatch
):
    """The model would fake it (a POST to a made-up localhost endpoint); say how to allow it."""
    from apflow.core.errors import GenerationError

    monkeypatch.delenv("APFLOW_ALLOW_COMMANDS", raising=False)
    client = ScriptedClient([answer(get("t1", "http://localhost:8080/run", "POST"))])
    with pytest.raises(GenerationError) as caught:
        await generate_tree(
            "run `git log -5` in the repo and summarise it", client=client, registry=builtins
        )
    assert "command_executor is disabled" in str(caught.value)
    assert "APFLOW_ALLOW_COMMANDS=1" in caught.value.hint
    assert client.history == []


async def test_an_endpoint_the_request_never_named_is_a_warning(builtins):
    tree = answer(get("t1", "https://api.weather.invented.com/paris"))
    result = await generate_tree(
        "get the weather for Paris", client=ScriptedClient([tree]), registry=builtins
    )
    assert result.warnings and "api.weather.invented.com" in result.warnings[0]


LOOP_REQUEST = "get the config from https://api.example.com/config, then PUT it to https://api.example.com/backup"


def _looping_answer() -> str:
    put = {"url": "https://api.example.com/backup", "method": "PUT", "json": "${t1.result.json}"}
    tasks = [get("t1", "https://api.example.com/config")]
    for k in range(2, 7):  # the same PUT over and over until the task limit
        tasks.append({"id": f"t{k}", "schemas": {"method": "rest_executor"}, "inputs": put})
    return answer(*tasks)


async def test_a_tree_that_repeats_itself_is_ended_while_it_is_written(builtins):
    result = await generate_tree(
        LOOP_REQUEST, client=ScriptedClient([_looping_answer()]), registry=builtins
    )
    assert sorted(t.id for t in result.tree.tasks) == ["root", "t1", "t2"]
    assert any("began repeating itself" in w for w in result.warnings)
    assert result.stats.llm_calls == 1


async def test_the_same_call_twice_is_kept_when_the_request_asks_for_it(builtins):
    result = await generate_tree(
        LOOP_REQUEST + ", and repeat the PUT 5 times",
        client=ScriptedClient([_looping_answer()]),
        registry=builtins,
    )
    assert len(result.tree.tasks) == 7


async def test_a_late_answer_keeps_the_tasks_finished_by_the_deadline(builtins):
    text = answer(
        get("t1", "https://a.example.com/x"),
        get("t2", "https://b.example.com/y"),
        get("t3", "https://c.example.com/z"),
    )
    late_after = text.index('{"id": "t3"') + 20  # the budget runs out inside the third task
    client = ScriptedClient([{"response": text, "late_after": late_after}])
    result = await generate_tree(
        "get https://a.example.com/x, https://b.example.com/y and https://c.example.com/z",
        client=client,
        registry=builtins,
    )
    assert sorted(t.id for t in result.tree.tasks) == ["root", "t1", "t2"]
    assert any("time budget ran out" in w and "2 task(s)" in w for w in result.warnings)


async def test_no_time_left_is_a_clear_error_not_a_silent_wait(builtins):
    from apflow.core.errors import GenerationError

    client = ScriptedClient([answer(get("t1", "https://a.example.com/x"))])
    with pytest.raises(GenerationError) as caught:
        await generate_tree(
            "get https://a.example.com/x", client=client, registry=builtins, time_budget=1e-9
        )
    assert "time budget" in str(caught.value)
    assert "APFLOW_GENERATION_TIMEOUT" in caught.value.hint


DEMO = (
    "Collect this machine's CPU, memory and disk facts in parallel, one task each, "
    "and report them together."
)


async def test_one_task_each_splits_a_task_that_lists_the_items(builtins):
    """The demo's request: the 1.5B model wrote one task with three sections."""
    one = answer(
        {
            "id": "t1",
            "schemas": {"method": "system_info_executor"},
            "inputs": {"sections": ["cpu", "memory", "disk"]},
        }
    )
    result = await generate_tree(DEMO, client=ScriptedClient([one]), registry=builtins)
    working = [t for t in result.tree.tasks if t.executor == "system_info_executor"]
    assert [t.inputs["sections"] for t in working] == [["cpu"], ["memory"], ["disk"]]
    assert all(t.dependencies == [] for t in working)  # in parallel, as asked
    assert set(result.tree.roots()[0].dependency_ids()) == {t.id for t in working}
    # without the words, one task stays one task
    plain = await generate_tree(
        DEMO.replace(", one task each", ""), client=ScriptedClient([one]), registry=builtins
    )
    assert len([t for t in plain.tree.tasks if t.id != "root"]) == 1


async def test_a_fallback_is_shown_and_kept_as_the_guide_writes_it(builtins):
    """'If that fails, use B': B waits optionally on A, the last step on both."""
    from apflow.generator import prompting
    from apflow.generator.api import build_offer
    from apflow.spec import default_policy

    request = (
        "Get https://api.example.com/prices; if that fails use https://backup.example.com/prices "
        "instead, then summarise whichever worked with the LLM"
    )
    offer = build_offer(request, builtins, default_policy(), None, 20)
    from apflow.generator.examples import for_prompt

    shown = prompting.render_messages(
        "single_shot.j2",
        catalogue=offer.text,
        examples=[for_prompt(e) for e in offer.examples],
        requirement=request,
    )
    system = shown[0]["content"]
    assert '"dependencies":[{"id":"t1","required":false}]' in system  # B on A, in the example
    guide_tree = answer(
        get("t1", "https://api.example.com/prices"),
        {
            **get("t2", "https://backup.example.com/prices"),
            "dependencies": [{"id": "t1", "required": False}],
        },
        {
            "id": "t3",
            "schemas": {"method": "llm_executor"},
            "inputs": {"prompt": "Summarise: ${t1.result.json} ${t2.result.json}"},
            "dependencies": [{"id": "t1", "required": False}, {"id": "t2", "required": False}],
        },
    )
    result = await generate_tree(request, client=ScriptedClient([guide_tree]), registry=builtins)
    assert deps(result, "t2") == [("t1", False)]
    assert deps(result, "t3") == [("t1", False), ("t2", False)]
    assert not any("now runs after" in f for f in result.fixes)  # reads: no barrier added


@pytest.fixture
def business_tools():
    """NESTFUL's shape: a search returns ids in a list; the reviews API needs one."""
    from apflow.core.executor import BaseTask
    from apflow.core.registry import ExecutorRegistry
    from apflow.executors.aggregate import AggregateResultsExecutor

    class BusinessSearch(BaseTask):
        id = "business_search"
        description = "Search local businesses"
        input_schema = {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        }
        output_schema = {
            "type": "object",
            "properties": {
                "data": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"business_id": {"type": "string"}, "name": {}},
                    },
                }
            },
        }

    class BusinessReviews(BaseTask):
        id = "business_reviews"
        description = "Reviews of one business"
        input_schema = {
            "type": "object",
            "properties": {"business_id": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["business_id"],
        }

    registry = ExecutorRegistry()
    for cls in (AggregateResultsExecutor, BusinessSearch, BusinessReviews):
        registry.register(cls)
    return registry


GROOMERS = "Find me pet groomers near Sydney, Australia and their reviews"
SEARCH = {
    "id": "t1",
    "schemas": {"method": "business_search"},
    "inputs": {"query": "pet groomers Sydney"},
}


def reviews(tid: str, business_id: str, *deps: str) -> dict:
    task = {
        "id": tid,
        "schemas": {"method": "business_reviews"},
        "inputs": {"business_id": business_id, "limit": 20},
    }
    return {**task, "dependencies": list(deps)} if deps else task


async def test_a_made_up_id_is_wired_to_the_lookup_that_returns_it(business_tools):
    client = ScriptedClient([answer(SEARCH, reviews("t2", "Sydney pet groomer"))])
    result = await generate_tree(GROOMERS, client=client, registry=business_tools)
    task = result.tree.get("t2")
    assert task.inputs["business_id"] == "${t1.result.data[0].business_id}"
    assert task.dependency_ids() == ["t1"]
    assert result.stats.llm_calls == 1


async def test_a_missing_lookup_is_asked_for_once_with_a_hint(business_tools):
    client = ScriptedClient(
        [
            answer(reviews("t1", "Sydney pet groomer")),
            answer(SEARCH, reviews("t2", "${t1.result.data[0].business_id}", "t1")),
        ]
    )
    result = await generate_tree(GROOMERS, client=client, registry=business_tools)
    assert [t.executor for t in result.tree.tasks if t.id != "root"] == [
        "business_search",
        "business_reviews",
    ]
    assert result.stats.llm_calls == 2 and result.warnings == []
    reask = client.history[1]["messages"][-1]["content"]
    assert "[invented_value]" in reask and "add a business_search task before it" in reask


async def test_a_reask_that_does_no_better_keeps_the_first_tree_with_a_warning(business_tools):
    first = answer(reviews("t1", "Sydney pet groomer"))
    client = ScriptedClient([first, answer(reviews("t1", "another made-up id"))])
    result = await generate_tree(GROOMERS, client=client, registry=business_tools)
    assert result.tree.get("t1").inputs["business_id"] == "Sydney pet groomer"
    assert result.stats.llm_calls == 2
    assert any("is not in the request" in w for w in result.warnings)


async def test_an_id_the_request_gives_is_not_made_up(business_tools):
    client = ScriptedClient([answer(reviews("t1", "ChIJ123"))])
    result = await generate_tree(
        "show the reviews of business ChIJ123", client=client, registry=business_tools
    )
    assert result.stats.llm_calls == 1 and result.warnings == []


async def test_a_dropped_last_step_is_asked_for_once(builtins, monkeypatch):
    """'run pytest and post the output to URL' came back as the run alone."""
    monkeypatch.setenv("APFLOW_ALLOW_COMMANDS", "1")
    request = "run `pytest -q` and post the output to https://ci.example.com/api/runs"
    run = {
        "id": "t1",
        "schemas": {"method": "command_executor"},
        "inputs": {"argv": ["pytest", "-q"]},
    }
    post = {
        **get("t2", "https://ci.example.com/api/runs", "POST", json={"out": "${t1.result.stdout}"}),
        "dependencies": ["t1"],
    }
    client = ScriptedClient([answer(run), answer(run, post)])
    result = await generate_tree(request, client=client, registry=builtins)
    assert [t.id for t in result.tree.tasks if t.id != "root"] == ["t1", "t2"]
    assert result.stats.llm_calls == 2 and result.warnings == []
    reask = client.history[1]["messages"][-1]["content"]
    assert "[missing_step]" in reask and "https://ci.example.com/api/runs" in reask


def test_a_plain_merge_is_shown_as_a_transform_not_an_llm_call(builtins):
    """Pattern 4: an LLM step invented where the request asks for a plain merge or filter.

    What the model is shown for such a request: transform_executor on offer, and the
    examples that merge and pick with it (no LLM call in them)."""
    from apflow.generator.api import build_offer
    from apflow.generator.examples import executors_of
    from apflow.spec import default_policy

    request = "get https://a.example.com/team and https://a.example.com/projects and merge them"
    offer = build_offer(request, builtins, default_policy(), None, 20)
    assert "transform_executor" in offer.ids
    merging = [e for e in offer.examples if e["name"] == "merge_records.json"]
    assert merging and executors_of(merging[0]) == {
        "aggregate_results_executor",
        "rest_executor",
        "transform_executor",
    }
    plain = build_offer("get https://a.example.com/team", builtins, default_policy(), None, 20)
    assert "transform_executor" not in plain.ids  # not offered where nothing is reshaped


def test_only_a_request_to_run_something_counts_as_asking_for_a_command():
    from apflow.generator.coverage import asks_for_command

    assert asks_for_command("run `git log -5` in the repo and summarise it")
    assert asks_for_command("execute the backup script, then ping https://x.example.com")
    assert not asks_for_command("keep only the `id` and `title` fields of https://x.example.com")
    assert not asks_for_command("fetch https://x.example.com and run an LLM summary on it")


async def test_separately_does_not_split_a_merge_of_sources(builtins):
    """'summarise A and B separately, then combine': the merge's sources are task ids."""
    tree = answer(
        scrape("t1", "https://docs.example.org/a"),
        scrape("t2", "https://docs.example.org/b"),
        {
            "id": "t3",
            "schemas": {"method": "transform_executor"},
            "inputs": {"sources": ["t1", "t2"]},
            "dependencies": ["t1", "t2"],
        },
    )
    result = await generate_tree(
        "summarise https://docs.example.org/a and https://docs.example.org/b separately, "
        "then combine them",
        client=ScriptedClient([tree]),
        registry=builtins,
    )
    assert result.tree.get("t3").inputs["sources"] == ["t1", "t2"]
    assert not any("split into" in f for f in result.fixes)


def _llm(tid: str, prompt: str) -> dict:
    return {"id": tid, "schemas": {"method": "llm_executor"}, "inputs": {"prompt": prompt}}


async def test_a_loop_feeding_itself_is_ended_but_a_fan_out_is_not(builtins):
    """Seen on user-dev: "list the names from ${t4.result.json}", then from t5, t6..."""
    loop = [
        get("t1", "https://api.example.net/products"),
        _llm("t2", "List the product names: ${t1.result.json}"),
        _llm("t3", "List the product names: ${t2.result.text}"),
        _llm("t4", "List the product names: ${t3.result.text}"),
        _llm("t5", "List the product names: ${t4.result.text}"),
    ]
    result = await generate_tree(
        "fetch https://api.example.net/products and list the product names",
        client=ScriptedClient([answer(*loop)]),
        registry=builtins,
    )
    # t2 reads a fetch's json, t3 the first summary's text: t4 and t5 feed the loop
    assert sorted(t.id for t in result.tree.tasks) == ["root", "t1", "t2", "t3"]
    fan_out = [
        scrape("t1", "https://a.example.com/p"),
        scrape("t2", "https://b.example.com/p"),
        scrape("t3", "https://c.example.com/p"),
        _llm("t4", "Summarise: ${t1.result.text}"),
        _llm("t5", "Summarise: ${t2.result.text}"),
        _llm("t6", "Summarise: ${t3.result.text}"),
    ]
    result = await generate_tree(
        "summarise https://a.example.com/p, https://b.example.com/p and "
        "https://c.example.com/p, each on its own",
        client=ScriptedClient([answer(*fan_out)]),
        registry=builtins,
    )
    assert len([t for t in result.tree.tasks if t.id != "root"]) == 6
