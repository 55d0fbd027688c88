"""render_tree: text, Mermaid and JSON, for specs and for stored trees."""

from __future__ import annotations

import json

import pytest

from apflow import TaskManager, TaskRepository, create_session
from apflow.core.errors import ApflowError
from apflow.spec import create_tree, parse_tree, render_tree

from .conftest import good_tree, task


def optional_tree():
    tree = good_tree()
    tree[0]["dependencies"][1] = {"id": "process", "required": False}
    tree[2]["name"] = "Summarise"
    tree.append(task("deep", "llm_executor", parent_id="process"))
    tree[0]["dependencies"].append("deep")
    return tree


def test_text_view_shows_nesting_executors_and_optional_dependencies():
    assert render_tree(parse_tree(optional_tree())).splitlines() == [
        "root  [aggregate_results_executor]  after: fetch, process (optional), deep",
        "├── fetch  [fetch_executor]",
        '└── process  "Summarise"  [llm_executor]  after: fetch',
        "    └── deep  [llm_executor]",
    ]


def test_text_view_lists_tasks_not_under_a_root():
    text = render_tree([task("a"), task("b", parent_id="ghost")])
    assert text.splitlines() == [
        "a  [fetch_executor]",
        "(not under a root)",
        "  b  [fetch_executor]",
    ]


def test_mermaid_has_solid_and_dashed_dependency_edges():
    lines = render_tree(optional_tree(), "mermaid").splitlines()
    assert lines[0] == "flowchart TD"
    assert '    n2["process<br/>llm_executor"]' in lines
    assert "    n1 --> n0" in lines  # fetch -> root (required)
    assert "    n2 -.-> n0" in lines  # process -> root (optional)
    assert "    n1 --> n2" in lines


def test_json_view_is_the_flat_list():
    plain = json.loads(render_tree(optional_tree(), "json"))
    assert [t["id"] for t in plain] == ["root", "fetch", "process", "deep"]
    assert parse_tree(plain) == parse_tree(optional_tree())


def test_unknown_format_is_an_error():
    with pytest.raises(ApflowError, match="unknown format"):
        render_tree(good_tree(), "svg")


async def test_stored_tree_views_show_status_and_spec_ids(db_url, registry):
    session = create_session(db_url)
    node = await create_tree(session, optional_tree())
    assert render_tree(node).splitlines()[1] == "├── fetch  [fetch_executor]  - pending"
    await TaskManager(session, registry=registry).distribute_task_tree(node)
    stored = await TaskRepository(session).get_tree(node.task.id)
    await session.close()
    text = render_tree(stored)
    assert text.splitlines()[0] == (
        "root  [aggregate_results_executor]  after: fetch, process (optional), deep  - completed"
    )
    assert "    └── deep  [llm_executor]  - completed" in text.splitlines()
    mermaid = render_tree(stored, "mermaid")
    assert ":::completed" in mermaid and "classDef completed" in mermaid
    rows = json.loads(render_tree(stored, "json"))
    assert {r["status"] for r in rows} == {"completed"} and len(rows) == 4
