"""sql_executor on real SQLite files: named connections, bound values, read-only by default."""

from __future__ import annotations

import json
import re
import sqlite3
from types import SimpleNamespace

import pytest

from apflow.core.executor import Effect, TaskContext
from apflow.core.registry import default_registry
from apflow.executors import _sql
from apflow.executors.sql import SqlExecutor, dispose_engines
from tests.conftest import _PG_SERVER as PG_SERVER


@pytest.fixture(autouse=True)
def _only_test_connections(monkeypatch):
    """A developer's own APFLOW_SQL_* settings must not leak into these tests."""
    import os

    for name in [n for n in os.environ if n.startswith("APFLOW_SQL_")]:
        monkeypatch.delenv(name)
    yield
    _sql._engines.clear()


@pytest.fixture
def shop(tmp_path, monkeypatch):
    """shop.db with two users; ``reports`` reads it, ``store`` may write to it."""
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, city TEXT)")
        db.executemany(
            "INSERT INTO users (name, city) VALUES (?, ?)", [("Ada", "London"), ("Alan", "Leeds")]
        )
    monkeypatch.setenv("APFLOW_SQL_REPORTS", f"sqlite:///{path}")
    monkeypatch.setenv("APFLOW_SQL_STORE", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("APFLOW_SQL_STORE_WRITE", "1")
    return path


def names(path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT name FROM users ORDER BY id")]


async def run(**inputs):
    return await SqlExecutor().execute(inputs)


async def test_select_binds_params_and_returns_rows_and_columns(shop):
    out = await run(
        connection="reports",
        statement="SELECT id, name FROM users WHERE city = :city",
        params={"city": "Leeds"},
    )
    assert out["status"] == "completed", out
    assert out["result"] == {
        "rows": [{"id": 2, "name": "Alan"}],
        "row_count": 1,
        "columns": ["id", "name"],
        "truncated": False,
    }


async def test_insert_with_rows_runs_once_per_row_and_params_fill_the_rest(shop):
    out = await run(
        connection="STORE",  # names are not case-sensitive
        statement="INSERT INTO users (name, city) VALUES (:name, :city)",
        params={"city": "Paris"},
        rows=[{"name": "Grace"}, {"name": "Edsger", "city": "Austin"}],
    )
    assert out["status"] == "completed", out
    assert out["result"]["row_count"] == 2
    with sqlite3.connect(shop) as db:
        added = db.execute("SELECT name, city FROM users WHERE id > 2 ORDER BY id").fetchall()
    assert added == [("Grace", "Paris"), ("Edsger", "Austin")]


async def test_an_empty_rows_list_writes_nothing(shop):
    out = await run(connection="store", statement="INSERT INTO users (name) VALUES (:n)", rows=[])
    assert out["status"] == "completed" and out["result"]["row_count"] == 0
    assert names(shop) == ["Ada", "Alan"]


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO users (name) VALUES ('Eve')",
        "UPDATE users SET name = 'Eve'",
        "DELETE FROM users",
        "DROP TABLE users",
        "CREATE TABLE other (x)",
        # not a first-keyword check: the database itself refuses
        "WITH x AS (SELECT 1) DELETE FROM users",
    ],
)
async def test_a_write_on_a_read_only_connection_is_refused_with_the_variable_to_set(
    shop, statement
):
    out = await run(connection="reports", statement=statement)
    assert out["status"] == "failed"
    assert out["error_type"] == "write_not_allowed", out
    assert "APFLOW_SQL_REPORTS_WRITE=1" in out["error"]
    assert names(shop) == ["Ada", "Alan"]
    assert "sqlalchemy" not in out["error"].lower() and "[SQL:" not in out["error"]


@pytest.mark.parametrize(
    "statement",
    ["PRAGMA query_only = 0", "ATTACH DATABASE 'elsewhere.db' AS other", "VACUUM INTO 'copy.db'"],
)
async def test_what_would_lift_the_guard_or_reach_another_file_is_refused(
    shop, statement, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    out = await run(connection="store", statement=statement)
    assert out["status"] == "failed" and out["error_type"] == "disallowed", out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.db"]
    # and the read-only guard still holds on the next call
    out = await run(connection="reports", statement="DELETE FROM users")
    assert out["error_type"] == "write_not_allowed"


async def test_schema_pragmas_still_read(shop):
    out = await run(connection="reports", statement="PRAGMA table_info(users)")
    assert out["status"] == "completed", out
    assert [r["name"] for r in out["result"]["rows"]] == ["id", "name", "city"]


async def test_an_unknown_connection_lists_the_configured_ones_and_how_to_add_one(shop):
    out = await run(connection="warehouse", statement="SELECT 1")
    assert out["status"] == "failed" and out["error_type"] == "config_error"
    assert "'warehouse'" in out["error"]
    assert "default, reports, store" in out["error"]
    assert "APFLOW_SQL_WAREHOUSE=" in out["error"]
    assert "APFLOW_SQL_WAREHOUSE_WRITE=1" in out["error"]


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 1; SELECT 2",
        "INSERT INTO users (name) VALUES ('x'); DROP TABLE users",
        "SELECT 1 /* ; */; DELETE FROM users",
    ],
)
async def test_more_than_one_statement_is_refused_before_anything_runs(shop, statement):
    out = await run(connection="store", statement=statement)
    assert out["status"] == "failed" and out["error_type"] == "validation_error", out
    assert "one statement" in out["error"]
    assert names(shop) == ["Ada", "Alan"]


async def test_semicolons_in_strings_and_a_trailing_one_are_fine(shop):
    out = await run(connection="reports", statement="SELECT ';' AS s, 'a;b' AS t; -- done")
    assert out["result"]["rows"] == [{"s": ";", "t": "a;b"}]


async def test_an_injection_attempt_in_a_bound_value_stays_data(shop):
    evil = "x'); DROP TABLE users; --"
    out = await run(
        connection="store",
        statement="INSERT INTO users (name) VALUES (:name)",
        params={"name": evil},
    )
    assert out["status"] == "completed", out
    assert names(shop) == ["Ada", "Alan", evil]
    out = await run(
        connection="reports",
        statement="SELECT count(*) AS n FROM users WHERE name = :name",
        params={"name": "' OR '1'='1"},
    )
    assert out["result"]["rows"] == [{"n": 0}]


async def test_a_statement_built_from_a_reference_is_refused(shop):
    """Upstream data may reach a statement only as a bound value."""
    written = {"connection": "store", "statement": "DELETE FROM users WHERE name = '${t.result}'"}
    executor = SqlExecutor()
    executor.context = TaskContext(task=SimpleNamespace(inputs=written))
    resolved = {**written, "statement": "DELETE FROM users WHERE name = '' OR 1=1 --'"}
    out = await executor.execute(resolved)
    assert out["status"] == "failed" and out["error_type"] == "validation_error"
    assert "params" in out["error"]
    assert names(shop) == ["Ada", "Alan"]


@pytest.mark.parametrize(
    ("statement", "effect"),
    [
        ("SELECT * FROM users", Effect.READ),
        ("  -- the list\n with recent AS (SELECT 1) SELECT * FROM recent", Effect.READ),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", Effect.WRITE),
        ("SELECT replace(name, 'a', 'b') FROM users", Effect.READ),
        ("SELECT * INTO copy FROM users", Effect.WRITE),
        ("EXPLAIN QUERY PLAN SELECT * FROM users", Effect.READ),
        ("EXPLAIN ANALYZE DELETE FROM users", Effect.WRITE),
        ("INSERT INTO users (name) VALUES (:n)", Effect.WRITE),
        ("update users set name = :n", Effect.WRITE),
        ("CREATE TABLE t (x)", Effect.WRITE),
        ("SELECT * FROM ${t.result.table}", Effect.WRITE),
    ],
)
def test_effect_is_read_for_queries_and_write_otherwise(statement, effect):
    assert SqlExecutor().effect({"statement": statement}) is effect
    assert SqlExecutor.effects_note


async def test_the_default_connection_is_a_writable_scratch_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for statement in (
        "CREATE TABLE notes (body TEXT)",
        "INSERT INTO notes VALUES (:body)",
    ):
        out = await run(statement=statement, params={"body": {"a": [1, 2]}})
        assert out["status"] == "completed", out
    out = await run(statement="SELECT body FROM notes")
    assert json.loads(out["result"]["rows"][0]["body"]) == {"a": [1, 2]}  # bound as JSON text
    assert (tmp_path / ".apflow" / "data.db").is_file()


async def test_a_configured_default_is_read_only_unless_allowed(shop, monkeypatch):
    monkeypatch.setenv("APFLOW_SQL_DEFAULT", f"sqlite:///{shop}")
    out = await run(statement="DELETE FROM users")
    assert out["error_type"] == "write_not_allowed"
    assert "APFLOW_SQL_DEFAULT_WRITE=1" in out["error"]


async def test_a_missing_table_is_a_sql_error_that_names_the_tables(shop):
    out = await run(connection="reports", statement="SELECT * FROM customers")
    assert out["status"] == "failed" and out["error_type"] == "sql_error"
    assert "no such table: customers" in out["error"]
    assert "tables on 'reports': users" in out["error"]
    assert "Traceback" not in out["error"] and "sqlalche.me" not in out["error"]


async def test_a_missing_bound_value_is_a_validation_error(shop):
    out = await run(connection="reports", statement="SELECT * FROM users WHERE id = :id")
    assert out["status"] == "failed" and out["error_type"] == "validation_error", out
    assert "'id'" in out["error"]


async def test_rows_are_capped_at_max_rows(shop):
    out = await run(connection="reports", statement="SELECT name FROM users", max_rows=1)
    assert out["result"]["rows"] == [{"name": "Ada"}]
    assert out["result"]["truncated"] is True and out["result"]["row_count"] == 1


async def test_a_long_query_is_stopped_at_its_timeout(shop):
    forever = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    )
    out = await run(connection="reports", statement=forever, timeout=0.2)
    assert out["status"] == "failed" and out["error_type"] == "timeout", out


async def test_a_read_only_connection_never_creates_its_file(tmp_path, monkeypatch):
    missing = tmp_path / "nope.db"
    monkeypatch.setenv("APFLOW_SQL_GHOST", f"sqlite:///{missing}")
    out = await run(connection="ghost", statement="SELECT 1")
    assert out["status"] == "failed" and out["error_type"] == "connect_error"
    assert "does not exist" in out["error"] and "APFLOW_SQL_GHOST" in out["error"]
    assert not missing.exists()


def test_it_is_in_the_catalogue_with_schemas_and_offered_only_for_databases():
    entry = default_registry.describe("sql_executor")
    assert entry["input_schema"]["required"] == ["statement"]
    assert "rows" in entry["output_schema"]["properties"]
    assert entry["effects"] == "write" and entry["effects_note"]
    pattern = re.compile(SqlExecutor.offer_when, re.I)
    assert pattern.search("merge the results and save to database")
    assert pattern.search("count the rows of the orders table in Postgres")
    assert pattern.search("insert them into the orders table")
    for unrelated in (
        "summarise https://example.com in 20 words",
        "merge them into one record",
        "call the tool 'search' with the query 'apflow'",
        "fall back to https://db.example.com/api/users/314",
        "present the results as a table",
    ):
        assert not pattern.search(unrelated), unrelated


@pytest.mark.skipif(not PG_SERVER, reason="needs APFLOW_DATABASE_URL=postgresql://... (.ci/run)")
async def test_postgresql_reads_writes_and_refuses_writes_in_a_read_only_transaction(
    db_url, monkeypatch
):
    monkeypatch.setenv("APFLOW_SQL_PG", db_url)
    monkeypatch.setenv("APFLOW_SQL_PGW", db_url)
    monkeypatch.setenv("APFLOW_SQL_PGW_WRITE", "1")
    try:
        out = await run(connection="pgw", statement="CREATE TABLE t (id int, name text)")
        assert out["status"] == "completed", out
        out = await run(
            connection="pgw",
            statement="INSERT INTO t (id, name) VALUES (:id, :name)",
            rows=[{"id": 1, "name": "a"}, {"id": 2, "name": "x'); DROP TABLE t; --"}],
        )
        assert out["result"]["row_count"] == 2, out
        for statement in (
            "INSERT INTO t (id) VALUES (3)",
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        ):
            out = await run(connection="pg", statement=statement)
            assert out["error_type"] == "write_not_allowed", out
            assert "APFLOW_SQL_PG_WRITE=1" in out["error"]
        out = await run(connection="pg", statement="SELECT name FROM t ORDER BY id")
        assert [r["name"] for r in out["result"]["rows"]] == ["a", "x'); DROP TABLE t; --"]
        out = await run(connection="pg", statement="SELECT * FROM nope")
        assert out["error_type"] == "sql_error" and "tables on 'pg': t" in out["error"]
        out = await run(connection="pg", statement="SELECT pg_sleep(5)", timeout=0.3)
        assert out["error_type"] == "timeout", out
    finally:
        await dispose_engines()
