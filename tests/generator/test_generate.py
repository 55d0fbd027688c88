"""generate_tree with the scripted model: single-shot, repair, re-ask, policy, multi-phase."""

from __future__ import annotations

import json

import pytest

from apflow.core.errors import GenerationError
from apflow.generator import GenerationResult, generate_tree, generate_tree_sync
from apflow.llm import ScriptedClient
from apflow.spec import validate_tree

REQUIREMENT = "Fetch https://example.com/news and summarise it in 20 words"

GOOD = {
    "tasks": [
        {
            "id": "root",
            "schemas": {"method": "aggregate_results_executor"},
            "dependencies": ["fetch", "summary"],
        },
        {
            "id": "fetch",
            "parent_id": "root",
            "schemas": {"method": "fetch_page"},
            "inputs": {"url": "https://example.com/news"},
        },
        {
            "id": "summary",
            "parent_id": "root",
            "schemas": {"method": "summarise_text"},
            "inputs": {"text": "${fetch.result.text}", "max_words": 20},
            "dependencies": ["fetch"],
        },
    ]
}


def without_root(tree: dict) -> list[dict]:
    tasks = [dict(t) for t in tree["tasks"] if t["id"] != "root"]
    for t in tasks:
        t.pop("parent_id", None)
    return tasks


def broken() -> dict:
    """An unknown executor (not snappable) and an input of the wrong type."""
    tree = json.loads(json.dumps(GOOD))
    tree["tasks"][1]["schemas"]["method"] = "web_downloader"
    tree["tasks"][2]["inputs"]["max_words"] = "twenty"
    return tree


def last_user(request: dict) -> str:
    return [m for m in request["messages"] if m["role"] == "user"][-1]["content"]


async def test_clean_single_shot_takes_one_call(registry):
    client = ScriptedClient([json.dumps(GOOD)])
    result = await generate_tree(REQUIREMENT, client=client, registry=registry)
    assert isinstance(result, GenerationResult)
    assert len(client.history) == 1
    assert result.tree.ids() == ["root", "fetch", "summary"]
    assert validate_tree(result.tree, registry).valid
    assert result.mode == "single_shot" and result.model == "scripted"
    assert result.stats.llm_calls == 1
    assert result.stats.prompt_tokens > 0 and result.stats.completion_tokens > 0
    assert set(result.stats.seconds_by_phase) == {"generate", "validate"}
    assert [a["phase"] for a in result.attempts] == ["generate"]
    assert result.attempts[0]["valid"] is True
    # the catalogue the model saw came from the registry, with required inputs marked
    prompt = "\n".join(m["content"] for m in client.history[0]["messages"])
    assert "fetch_page" in prompt and "url* string" in prompt
    assert REQUIREMENT in last_user(client.history[0])


async def test_answer_in_code_fences_with_prose_is_accepted(registry):
    answer = (
        "Sure! Here is the tree you asked for:\n```json\n"
        + json.dumps(GOOD, indent=2)
        + "\n```\nLet me know if you need changes."
    )
    client = ScriptedClient([answer])
    result = await generate_tree(REQUIREMENT, client=client, registry=registry)
    assert result.tree.ids() == ["root", "fetch", "summary"]
    assert len(client.history) == 1


async def test_missing_aggregator_root_is_fixed_without_reasking(registry):
    client = ScriptedClient([json.dumps(without_root(GOOD))])
    result = await generate_tree(REQUIREMENT, client=client, registry=registry)
    assert len(client.history) == 1
    root = result.tree.roots()
    assert len(root) == 1 and root[0].executor == "aggregate_results_executor"
    assert set(root[0].dependency_ids()) == {"fetch", "summary"}
    assert any("aggregate_results_executor" in fix for fix in result.fixes)
    assert result.attempts[0]["fixes"] == result.fixes


async def test_unknown_executor_and_bad_input_are_reasked_with_hints(registry):
    bad = broken()
    client = ScriptedClient([json.dumps(bad), json.dumps(GOOD)])
    events = []
    result = await generate_tree(
        REQUIREMENT, client=client, registry=registry, on_event=events.append
    )
    assert len(client.history) == 2
    assert result.tree.get("fetch").executor == "fetch_page"
    expected = validate_tree(bad, registry).issues
    assert {i.code for i in expected} >= {"unknown_executor", "invalid_inputs"}
    reask = last_user(client.history[1])
    for issue in expected:
        assert issue.hint and issue.hint in reask
        assert issue.code in reask
    # the model sees its own tree as the previous assistant turn
    previous = client.history[1]["messages"][-2]
    assert previous["role"] == "assistant" and "web_downloader" in previous["content"]
    assert [a["phase"] for a in result.attempts] == ["generate", "repair"]
    assert result.attempts[0]["valid"] is False and result.attempts[1]["valid"] is True
    assert ("repair", "start") in [(e.phase, e.status) for e in events]


@pytest.mark.parametrize("max_repairs", [0, 1, 2])
async def test_model_that_never_fixes_it_raises_with_history(registry, max_repairs):
    client = ScriptedClient([json.dumps(broken())] * (max_repairs + 3))
    with pytest.raises(GenerationError) as info:
        await generate_tree(REQUIREMENT, client=client, registry=registry, max_repairs=max_repairs)
    err = info.value
    assert len(client.history) == 1 + max_repairs
    assert len(err.attempts) == 1 + max_repairs
    assert all(not a["valid"] and a["issues"] for a in err.attempts)
    assert {i.code for i in err.issues} >= {"unknown_executor", "invalid_inputs"}
    assert any(t["schemas"]["method"] == "web_downloader" for t in err.last_tree)
    assert "no valid tree" in str(err)


async def test_unparsable_answer_is_reasked_as_invalid_json(registry):
    client = ScriptedClient(["I am sorry, I cannot help with that.", json.dumps(GOOD)])
    result = await generate_tree(REQUIREMENT, client=client, registry=registry)
    assert len(client.history) == 2
    assert "[invalid_json]" in last_user(client.history[1])
    assert result.attempts[0]["issues"][0]["code"] == "invalid_json"


async def test_empty_requirement_fails_before_any_model_call(registry):
    client = ScriptedClient([json.dumps(GOOD)])
    for text in ["", "   \n\t"]:
        with pytest.raises(GenerationError, match="requirement is empty"):
            await generate_tree(text, client=client, registry=registry)
    assert client.history == []


async def test_unknown_mode_lists_the_modes(registry):
    with pytest.raises(GenerationError) as info:
        await generate_tree(REQUIREMENT, mode="three_phase", client=ScriptedClient([]))
    assert "single_shot" in str(info.value) and "multi_phase" in str(info.value)


async def test_command_executor_is_neither_offered_nor_accepted_by_default(registry, monkeypatch):
    monkeypatch.delenv("APFLOW_ALLOW_COMMANDS", raising=False)
    sneaky = json.loads(json.dumps(GOOD))
    sneaky["tasks"][1] = {
        "id": "fetch",
        "parent_id": "root",
        "schemas": {"method": "command_executor"},
        "inputs": {"argv": ["curl", "https://example.com/news"]},
    }
    client = ScriptedClient([json.dumps(sneaky)] * 3)
    with pytest.raises(GenerationError) as info:
        await generate_tree(REQUIREMENT, client=client, registry=registry)
    assert "command_executor" not in client.history[0]["messages"][0]["content"]
    assert "disallowed_executor" in {i.code for i in info.value.issues}


async def test_command_executor_is_offered_when_enabled(registry, monkeypatch):
    monkeypatch.setenv("APFLOW_ALLOW_COMMANDS", "1")
    client = ScriptedClient([json.dumps(GOOD)])
    await generate_tree(REQUIREMENT, client=client, registry=registry)
    assert "command_executor" in client.history[0]["messages"][0]["content"]


async def test_allow_list_limits_what_is_offered_and_accepted(registry):
    client = ScriptedClient([json.dumps(GOOD)] * 3)
    with pytest.raises(GenerationError) as info:
        await generate_tree(REQUIREMENT, client=client, registry=registry, executors=["fetch_page"])
    system = client.history[0]["messages"][0]["content"]
    assert "fetch_page" in system
    assert "summarise_text" not in system
    assert {i.code for i in info.value.issues} == {"disallowed_executor"}


async def test_allow_list_with_unregistered_id_names_the_closest(registry):
    with pytest.raises(GenerationError) as info:
        await generate_tree(
            REQUIREMENT, client=ScriptedClient([]), registry=registry, executors=["fetch_pages"]
        )
    assert "fetch_pages" in str(info.value) and "fetch_page" in str(info.value.hint)


async def test_multi_phase_runs_all_four_phases_in_order(registry):
    plan = {
        "steps": [
            {
                "id": "fetch",
                "does": "download the news page",
                "executor": "fetch_page",
                "needs": [],
            },
            {
                "id": "summary",
                "does": "summarise it",
                "executor": "summarise_text",
                "needs": ["fetch"],
            },
        ]
    }
    client = ScriptedClient([json.dumps(plan), json.dumps(broken()), json.dumps(GOOD)])
    events = []
    result = await generate_tree(
        REQUIREMENT, mode="multi_phase", client=client, registry=registry, on_event=events.append
    )
    assert result.mode == "multi_phase"
    # ids by position; needs follow the renaming
    assert result.plan == [
        {"id": "t1", "does": "download the news page", "executor": "fetch_page", "needs": []},
        {"id": "t2", "does": "summarise it", "executor": "summarise_text", "needs": ["t1"]},
    ]
    assert len(client.history) == 3
    starts = [e.phase for e in events if e.status == "start"]
    first_seen = list(dict.fromkeys(starts))
    assert first_seen == ["plan", "structure", "validate", "repair"]
    assert [(e.phase, e.status) for e in events][:3] == [
        ("plan", "start"),
        ("plan", "attempt"),
        ("plan", "done"),
    ]
    assert events[-1].status == "attempt" and events[-1].detail == "valid"
    assert set(result.stats.seconds_by_phase) == {"plan", "structure", "validate", "repair"}
    # the structure prompt carries the plan, the repair prompt the issues
    assert '"does":"summarise it"' in last_user(client.history[1])
    assert "[unknown_executor]" in last_user(client.history[2])
    assert [a["phase"] for a in result.attempts] == ["plan", "structure", "repair"]


async def test_multi_phase_carries_on_when_the_plan_is_unreadable(registry):
    client = ScriptedClient(["no plan, sorry", "still no plan", json.dumps(GOOD)])
    result = await generate_tree(REQUIREMENT, mode="multi_phase", client=client, registry=registry)
    assert result.plan is None
    assert "choose the steps yourself" in last_user(client.history[2])


async def test_baseline_mode_never_repairs(registry):
    client = ScriptedClient([json.dumps(without_root(GOOD))])
    with pytest.raises(GenerationError) as info:
        await generate_tree(REQUIREMENT, mode="baseline", client=client, registry=registry)
    assert len(client.history) == 1
    assert {i.code for i in info.value.issues} == {"multiple_roots"}
    ok = ScriptedClient([json.dumps(GOOD)])
    result = await generate_tree(REQUIREMENT, mode="baseline", client=ok, registry=registry)
    assert result.fixes == [] and result.mode == "baseline"


def test_sync_wrapper_and_model_string(registry, tmp_path):
    path = tmp_path / "answers.json"
    path.write_text(json.dumps([json.dumps(GOOD)]))
    result = generate_tree_sync(REQUIREMENT, model=f"scripted:{path}", registry=registry)
    data = json.loads(json.dumps(result.to_dict()))
    assert [t["id"] for t in data["tasks"]] == ["root", "fetch", "summary"]
    assert data["stats"]["llm_calls"] == 1
    assert data["model"] == f"scripted:{path}"


async def test_sync_wrapper_inside_a_running_loop_says_to_await(registry):
    with pytest.raises(GenerationError, match="running event loop"):
        generate_tree_sync(REQUIREMENT, client=ScriptedClient([]), registry=registry)


async def test_output_budget_follows_the_plan_size(registry):
    plan = {
        "steps": [
            {"id": "fetch", "does": "download", "executor": "fetch_page", "needs": []},
            {"id": "summary", "does": "summarise", "executor": "summarise_text", "needs": []},
        ]
    }
    client = ScriptedClient([json.dumps(plan), json.dumps(GOOD)])
    await generate_tree(REQUIREMENT, mode="multi_phase", client=client, registry=registry)
    plan_budget, tree_budget = (r["max_tokens"] for r in client.history)
    assert plan_budget < tree_budget < 1000


async def test_cut_off_answer_is_reasked_with_a_shortened_copy(registry):
    runaway = '{"tasks":[{"id":"root","inputs":{"text":"' + "blah " * 2000
    client = ScriptedClient([runaway, json.dumps(GOOD)])
    result = await generate_tree(REQUIREMENT, client=client, registry=registry)
    assert result.attempts[0]["issues"][0]["code"] == "invalid_json"
    reask = client.history[1]["messages"]
    assert len(reask[-2]["content"]) < 2100
    assert "cut off" in reask[-1]["content"] and "shorter tree" in reask[-1]["content"]


async def test_allow_list_cannot_enable_a_disallowed_executor(registry, monkeypatch):
    monkeypatch.delenv("APFLOW_ALLOW_COMMANDS", raising=False)
    client = ScriptedClient([json.dumps(GOOD)])
    await generate_tree(
        REQUIREMENT,
        client=client,
        registry=registry,
        executors=iter(["fetch_page", "summarise_text", "command_executor"]),
    )
    system = client.history[0]["messages"][0]["content"]
    assert "command_executor" not in system and "summarise_text" in system


async def test_optional_dependency_for_a_fallback_is_kept(registry):
    tasks = [
        {
            "id": "main",
            "schemas": {"method": "fetch_page"},
            "inputs": {"url": "https://example.com/news"},
        },
        {
            "id": "summary",
            "schemas": {"method": "summarise_text"},
            "inputs": {"text": "whatever arrived"},
            "dependencies": [{"id": "main", "required": False}],
        },
    ]
    client = ScriptedClient([json.dumps({"tasks": tasks})])
    result = await generate_tree(REQUIREMENT, client=client, registry=registry)
    (dep,) = result.tree.get("summary").dependencies
    assert (dep.id, dep.required) == ("main", False)
    second = client.history[0]["json_schema"]["properties"]["tasks"]["prefixItems"][1]
    for branch in second["anyOf"]:
        optional = branch["properties"]["dependencies"]["items"]["anyOf"][1]
        assert optional["properties"]["required"] == {"const": False}


async def test_malformed_tasks_are_reasked_not_crashed_on(registry):
    client = ScriptedClient(
        [
            json.dumps({"tasks": ["fetch", 3, {"id": "x", "schemas": "fetch_page"}]}),
            json.dumps(GOOD),
        ]
    )
    result = await generate_tree(REQUIREMENT, client=client, registry=registry)
    assert result.attempts[0]["issues"][0]["code"] == "invalid_shape"
    assert '"fetch",3' in client.history[1]["messages"][-2]["content"]


async def test_an_unconstrained_plan_is_renumbered_and_keeps_optional_needs(registry):
    plan = {
        "steps": [
            {"id": "main", "does": "fetch", "executor": "fetch_page", "needs": ["later", "main"]},
            {
                "id": "later",
                "does": "sum",
                "executor": "summarise_text",
                "needs": [{"id": "main", "required": False}, "ghost", "main"],
            },
        ]
    }
    client = ScriptedClient([json.dumps(plan), json.dumps(GOOD)])
    result = await generate_tree(REQUIREMENT, mode="multi_phase", client=client, registry=registry)
    assert result.plan == [
        {"id": "t1", "does": "fetch", "executor": "fetch_page", "needs": []},
        {
            "id": "t2",
            "does": "sum",
            "executor": "summarise_text",
            "needs": [{"id": "t1", "required": False}],
        },
    ]
    structure = client.history[1]["json_schema"]["properties"]["tasks"]["prefixItems"]
    assert structure[1]["properties"]["dependencies"] == {
        "const": [{"id": "t1", "required": False}]
    }


async def test_requirement_over_the_limit_is_refused_before_the_model(registry, monkeypatch):
    client = ScriptedClient([json.dumps(GOOD)])
    with pytest.raises(GenerationError) as caught:
        await generate_tree("x" * 1_000_000, client=client, registry=registry)
    assert "1,000,000 characters long; the limit is 20,000" in str(caught.value)
    assert "APFLOW_MAX_REQUIREMENT_CHARS" in str(caught.value) and caught.value.hint
    assert client.history == []  # the model was never called
    with pytest.raises(GenerationError, match="limit is 50"):
        await generate_tree("y" * 51, client=client, registry=registry, max_requirement_chars=50)
    monkeypatch.setenv("APFLOW_MAX_REQUIREMENT_CHARS", "2000000")
    result = await generate_tree(
        REQUIREMENT + " " + "z" * 1_000_000, client=client, registry=registry
    )
    assert len(client.history) == 1 and result.tree.ids() == ["root", "fetch", "summary"]


async def test_requirement_with_a_lone_surrogate_is_refused(registry):
    client = ScriptedClient([json.dumps(GOOD)])
    with pytest.raises(GenerationError, match="lone UTF-16 surrogate"):
        await generate_tree("fetch \ud800 page", client=client, registry=registry)
    assert client.history == []


async def test_a_collect_step_on_the_aggregator_is_left_out_of_the_plan(registry):
    plan = {
        "steps": [
            {"id": "t1", "does": "download", "executor": "fetch_page", "needs": []},
            {"id": "t2", "does": "summarise", "executor": "summarise_text", "needs": ["t1"]},
            {
                "id": "t3",
                "does": "collect both results",
                "executor": "aggregate_results_executor",
                "needs": ["t1", "t2"],
            },
        ]
    }
    client = ScriptedClient([json.dumps(plan), json.dumps(GOOD)])
    result = await generate_tree(REQUIREMENT, mode="multi_phase", client=client, registry=registry)
    assert [s["executor"] for s in result.plan] == ["fetch_page", "summarise_text"]
    # the plan grammar offers the aggregator (last), the structure grammar has 2 tasks only
    first = client.history[0]["json_schema"]["properties"]["steps"]["prefixItems"][0]
    assert first["properties"]["executor"]["enum"][-1] == "aggregate_results_executor"
    structure = client.history[1]["json_schema"]["properties"]["tasks"]
    assert len(structure["prefixItems"]) == 2


def _stutter() -> list[dict]:
    """The 1.5B model's repeat: t2 is t1 again, waiting on t1; t3 reads t2."""
    fetch = {"schemas": {"method": "fetch_page"}, "inputs": {"url": "https://example.com/news"}}
    return [
        {"id": "t1", **fetch},
        {"id": "t2", **fetch, "dependencies": ["t1"]},
        {
            "id": "t3",
            "schemas": {"method": "summarise_text"},
            "inputs": {"text": "${t2.result.text} and ${t2.result}", "max_words": 20},
            "dependencies": ["t2", "t1"],
        },
    ]


async def test_a_task_repeated_verbatim_is_merged_into_the_first(registry):
    client = ScriptedClient([json.dumps({"tasks": _stutter()})])
    result = await generate_tree(REQUIREMENT, client=client, registry=registry)
    assert sorted(t.id for t in result.tree.tasks) == ["root", "t1", "t3"]
    summary = result.tree.get("t3")
    assert [d.id for d in summary.dependencies] == ["t1"]
    assert summary.inputs["text"] == "${t1.result.text} and ${t1.result}"
    assert result.fixes[0] == "t2: repeats t1 (same executor and inputs); merged into t1"
    assert result.stats.llm_calls == 1


def test_only_true_repeats_are_merged():
    from apflow.generator.generation import repeats_merged

    tasks = _stutter()
    tasks[1]["inputs"] = {"url": "https://example.com/other"}  # another page: not a repeat
    assert repeats_merged(tasks) == (tasks, [])
    tasks = _stutter()
    tasks[1]["dependencies"] = ["t3"]  # waits on something t1 does not: not a repeat
    assert repeats_merged(tasks) == (tasks, [])
    tasks = _stutter()
    tasks[1]["schemas"] = {"method": "summarise_text"}
    assert repeats_merged(tasks) == (tasks, [])
    tasks = _stutter()
    del tasks[1]["dependencies"]  # side by side, not chained: maybe two runs on purpose
    assert repeats_merged(tasks) == (tasks, [])
    tasks = _stutter()
    tasks[0]["name"], tasks[1]["name"] = "users", "orders"  # named apart
    assert repeats_merged(tasks) == (tasks, [])
    # references to t10 are not references to t1's repeat t2... nor is t2 touched by t20
    tasks = _stutter()
    tasks[2]["inputs"]["text"] = "${t20.result} ${t2.result}"
    merged, fixes = repeats_merged(tasks)
    assert merged[1]["inputs"]["text"] == "${t20.result} ${t1.result}" and len(fixes) == 1


def test_plan_prompt_without_usable_examples_shows_the_made_up_one():
    from apflow.generator import prompting

    messages = prompting.render_messages(
        "plan.j2", catalogue="- weather: the weather", examples=[], requirement="weather in Rome"
    )
    system = messages[0]["content"]
    assert "its executors are made up" in system and '"executor":"currency_convert"' in system
    shown = prompting.render_messages(
        "plan.j2",
        catalogue="- weather: the weather",
        examples=[{"requirement": "r", "plan": '{"steps":[]}', "planned": "", "tree": ""}],
        requirement="weather in Rome",
    )
    assert "made up" not in shown[0]["content"]
