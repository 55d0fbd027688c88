"""A tree a generator would write: fetch an API and a page, shape the data, ask a model."""

from __future__ import annotations

import json

import pytest

from apflow import TaskManager, create_session
from apflow.spec import create_tree, validate_tree

PAGE = (
    "<html><head><title>Status</title></head>"
    "<body><nav>Menu</nav><main><p>All systems go.</p></main></body></html>"
)


@pytest.mark.usefixtures("allow_private")
async def test_rest_scrape_transform_llm_tree(httpserver, tmp_path):
    httpserver.expect_request("/api/items").respond_with_json(
        {
            "items": [
                {"name": "a", "ok": True},
                {"name": "b", "ok": False},
                {"name": "c", "ok": True},
            ]
        }
    )
    httpserver.expect_request("/status").respond_with_data(PAGE, content_type="text/html")
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps([{"match": "Healthy: a, c. Page: All systems go.", "response": "2 of 3 ok."}])
    )
    tree = [
        {
            "id": "report",
            "schemas": {"method": "aggregate_results_executor"},
            "dependencies": ["items", "status_page", "healthy", "line", "summary"],
        },
        {
            "id": "items",
            "parent_id": "report",
            "schemas": {"method": "rest_executor"},
            "inputs": {"url": httpserver.url_for("/api/items")},
        },
        {
            "id": "status_page",
            "parent_id": "report",
            "schemas": {"method": "scrape_executor"},
            "inputs": {"url": httpserver.url_for("/status")},
        },
        {
            "id": "healthy",
            "parent_id": "report",
            "dependencies": ["items"],
            "schemas": {"method": "transform_executor"},
            "inputs": {
                "data": "${items.result.json.items}",
                "operations": [
                    {"op": "filter", "where": {"ok": True}},
                    {"op": "pluck", "path": "name"},
                ],
            },
        },
        {
            "id": "line",
            "parent_id": "report",
            "dependencies": ["healthy", "status_page"],
            "schemas": {"method": "transform_executor"},
            "inputs": {
                "data": {"names": "${healthy.result}", "page": "${status_page.result.text}"},
                "operations": [
                    {"op": "template", "template": "Healthy: {names.0}, {names.1}. Page: {page}"}
                ],
            },
        },
        {
            "id": "summary",
            "parent_id": "report",
            "dependencies": ["line"],
            "schemas": {"method": "llm_executor"},
            "inputs": {"prompt": "${line.result}", "model": f"scripted:{answers}"},
        },
    ]
    report = validate_tree(tree)
    assert report.valid, report.to_dict()
    session = create_session()
    manager = TaskManager(session)
    root = await manager.distribute_task_tree(await create_tree(session, tree))
    repo = manager.task_repository
    rows = {t.spec_id: t for t in await repo.get_tree(root.task.id)}
    failed = {k: (t.status, t.error) for k, t in rows.items() if t.status != "completed"}
    assert not failed, failed
    assert rows["report"].result["healthy"] == ["a", "c"]
    assert rows["report"].result["status_page"]["title"] == "Status"
    assert rows["summary"].result["text"] == "2 of 3 ok."
    await session.close()


@pytest.mark.usefixtures("allow_private")
@pytest.mark.parametrize("primary_ok", [False, True])
async def test_fallback_then_keep_whichever_arrived(httpserver, primary_ok):
    """The guide's fallback: B waits optionally on A, and a merge keeps what arrived.

    A merge of "whichever arrived" must not fail because the primary it lists failed."""
    if primary_ok:
        httpserver.expect_request("/primary").respond_with_json({"price": 1})
    else:
        httpserver.expect_request("/primary").respond_with_data("down", status=500)
    httpserver.expect_request("/backup").respond_with_json({"price": 2, "from": "backup"})
    tree = [
        {
            "id": "root",
            "schemas": {"method": "aggregate_results_executor"},
            "dependencies": [{"id": "t1", "required": False}, "t2", "t3"],
        },
        {
            "id": "t1",
            "parent_id": "root",
            "schemas": {"method": "rest_executor"},
            "inputs": {"url": httpserver.url_for("/primary")},
        },
        {
            "id": "t2",
            "parent_id": "root",
            "schemas": {"method": "rest_executor"},
            "inputs": {"url": httpserver.url_for("/backup")},
            "dependencies": [{"id": "t1", "required": False}],
        },
        {
            "id": "t3",
            "parent_id": "root",
            "schemas": {"method": "transform_executor"},
            # later sources win a merge: the primary's answer first when it arrived
            "inputs": {"sources": ["t2", "t1"], "operations": [{"op": "pick", "path": "json"}]},
            "dependencies": [{"id": "t1", "required": False}, {"id": "t2", "required": False}],
        },
    ]
    assert validate_tree(tree).valid
    session = create_session()
    manager = TaskManager(session)
    root = await manager.distribute_task_tree(await create_tree(session, tree))
    rows = {t.spec_id: t for t in await manager.task_repository.get_tree(root.task.id)}
    assert rows["t1"].status == ("completed" if primary_ok else "failed")
    assert rows["t3"].status == "completed", rows["t3"].error
    expected = {"price": 1, "from": "backup"} if primary_ok else {"price": 2, "from": "backup"}
    assert rows["t3"].result == expected
    await session.close()
