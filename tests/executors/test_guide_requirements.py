"""The best-practices guide's two "Good" requirements, generated with the scripted model and
run to a completed tree: local HTTP servers, a SQLite file, a scripted LLM answer."""

from __future__ import annotations

import json
import sqlite3

import pytest

from apflow.executors import _sql
from apflow.generator import generate_tree
from apflow.llm import ScriptedClient
from apflow.service import Service

SAVE_REQUIREMENT = (
    "Fetch user data and order data in parallel, then merge the results and save to database"
)


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    """A SQLite file with a snapshots table, configured as the writable ``warehouse``."""
    path = tmp_path / "warehouse.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE snapshots (id INTEGER PRIMARY KEY, users TEXT, orders TEXT)")
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, total REAL)")
    monkeypatch.setenv("APFLOW_SQL_WAREHOUSE", f"sqlite:///{path}")
    monkeypatch.setenv("APFLOW_SQL_WAREHOUSE_WRITE", "1")
    yield path
    _sql._engines.clear()


def save_tree(users_url: str, orders_url: str) -> dict:
    """What a model answers: two GETs side by side, a merge, then the inserts."""
    return {
        "tasks": [
            {
                "id": "root",
                "schemas": {"method": "aggregate_results_executor"},
                "dependencies": ["users", "orders", "merge", "save", "save_orders"],
            },
            {
                "id": "users",
                "parent_id": "root",
                "schemas": {"method": "rest_executor"},
                "inputs": {"url": users_url},
            },
            {
                "id": "orders",
                "parent_id": "root",
                "schemas": {"method": "rest_executor"},
                "inputs": {"url": orders_url},
            },
            {
                "id": "merge",
                "parent_id": "root",
                "dependencies": ["users", "orders"],
                "schemas": {"method": "transform_executor"},
                "inputs": {
                    "sources": ["users", "orders"],
                    "operations": [{"op": "pick", "path": "json"}],
                },
            },
            {
                "id": "save",
                "parent_id": "root",
                "dependencies": ["merge"],
                "schemas": {"method": "sql_executor"},
                "inputs": {
                    "connection": "warehouse",
                    "statement": "INSERT INTO snapshots (users, orders) VALUES (:users, :orders)",
                    "params": {
                        "users": "${merge.result.users}",
                        "orders": "${merge.result.orders}",
                    },
                },
            },
            {
                "id": "save_orders",
                "parent_id": "root",
                "dependencies": ["merge"],
                "schemas": {"method": "sql_executor"},
                "inputs": {
                    "connection": "warehouse",
                    "statement": "INSERT INTO orders (id, user_id, total) "
                    "VALUES (:id, :user_id, :total)",
                    "rows": "${merge.result.orders}",
                },
            },
        ]
    }


@pytest.mark.usefixtures("allow_private")
async def test_fetch_in_parallel_merge_and_save_to_database(httpserver, warehouse, db_url):
    users = [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Alan"}]
    orders = [{"id": 10, "user_id": 1, "total": 30.5}, {"id": 11, "user_id": 2, "total": 12.0}]
    httpserver.expect_request("/users").respond_with_json({"users": users})
    httpserver.expect_request("/orders").respond_with_json({"orders": orders})
    answer = save_tree(httpserver.url_for("/users"), httpserver.url_for("/orders"))
    client = ScriptedClient([json.dumps(answer)])

    result = await generate_tree(SAVE_REQUIREMENT, client=client)

    assert len(client.history) == 1
    catalogue = "\n".join(m["content"] for m in client.history[0]["messages"])
    assert "sql_executor" in catalogue  # offered: the request speaks of a database
    by_id = {t.id: t for t in result.tree.tasks}
    assert {"users", "orders"}.isdisjoint(d.id for d in by_id["users"].dependencies)
    assert not by_id["orders"].dependencies  # the two fetches stay parallel
    # two writes keep the request's order (docs/executors.md#effects)
    assert [d.id for d in by_id["save_orders"].dependencies] == ["merge", "save"]

    view = await Service(db_url).run(result.tree)

    failed = {t.spec_id: t.error for t in view.tasks if t.status != "completed"}
    assert not failed, failed
    assert view.status == "completed"
    with sqlite3.connect(warehouse) as db:
        snapshot = db.execute("SELECT users, orders FROM snapshots").fetchall()
        saved = db.execute("SELECT id, user_id, total FROM orders ORDER BY id").fetchall()
    assert [(json.loads(u), json.loads(o)) for u, o in snapshot] == [(users, orders)]
    assert saved == [(10, 1, 30.5), (11, 2, 12.0)]
    assert view.result["save_orders"]["row_count"] == 2


@pytest.mark.usefixtures("allow_private")
async def test_scrape_analyze_with_llm_and_aggregate_a_report(httpserver, tmp_path, db_url):
    httpserver.expect_request("/").respond_with_data(
        "<html><head><title>Acme API</title></head><body><main><p>Acme serves 3 endpoints: "
        "users, orders, invoices.</p></main></body></html>",
        content_type="text/html",
    )
    site = httpserver.url_for("/")
    answers = tmp_path / "llm.json"
    answers.write_text(json.dumps([{"match": "3 endpoints", "response": "Three endpoints."}]))
    answer = {
        "tasks": [
            {
                "id": "report",
                "schemas": {"method": "aggregate_results_executor"},
                "inputs": {"format": "dict"},
                "dependencies": ["scrape", "analyze"],
            },
            {
                "id": "scrape",
                "parent_id": "report",
                "schemas": {"method": "scrape_executor"},
                "inputs": {"url": site},
            },
            {
                "id": "analyze",
                "parent_id": "report",
                "dependencies": ["scrape"],
                "schemas": {"method": "llm_executor"},
                "inputs": {
                    "prompt": "Analyze this content: ${scrape.result.text}",
                    "model": f"scripted:{answers}",
                },
            },
        ]
    }
    requirement = (
        f"Scrape data from {site}, analyze the content using LLM, then aggregate both results "
        "into a final report"
    )
    client = ScriptedClient([json.dumps(answer)])

    result = await generate_tree(requirement, client=client)
    catalogue = "\n".join(m["content"] for m in client.history[0]["messages"])
    assert "sql_executor" not in catalogue  # nothing here speaks of a database

    view = await Service(db_url).run(result.tree)

    failed = {t.spec_id: t.error for t in view.tasks if t.status != "completed"}
    assert not failed, failed
    assert view.result["scrape"]["title"] == "Acme API"
    assert view.result["analyze"]["text"] == "Three endpoints."
