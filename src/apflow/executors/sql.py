"""sql_executor: one parameterised SQL statement on a named connection.

Values are always bound parameters, never text in the SQL, and the statement may not be
built from ``${...}`` references, so upstream data cannot turn into SQL. A connection is
read-only unless the operator allows writes, and that is enforced by the database itself:
``PRAGMA query_only`` plus an authorizer on SQLite, a READ ONLY transaction elsewhere.
Connections are configured in :mod:`apflow.executors._sql`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from apflow.core.errors import ApflowError, ConfigError
from apflow.core.executor import BaseTask, Effect, completed, failed
from apflow.executors import _sql
from apflow.executors._sql import SqlConnection, dispose_engines

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["SqlError", "SqlExecutor", "dispose_engines", "run"]

DEFAULT_MAX_ROWS = 1000
_SQLITE_CHECK_EVERY = 1000  # VM instructions between two looks at the deadline


class SqlError(ApflowError):
    """A statement the database refused or could not run; ``error_type`` goes into the result."""

    def __init__(self, message: str, error_type: str = "sql_error", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.error_type = error_type


class SqlExecutor(BaseTask):
    id = "sql_executor"
    effects = "write"
    effects_note = "read for SELECT, WITH ... SELECT, VALUES and EXPLAIN; write otherwise"
    name = "SQL statement"
    description = (
        "Run one SQL statement (SELECT, or INSERT/UPDATE/DELETE on a connection that allows "
        "writes) on a named database connection, with :name placeholders bound from 'params' "
        "(or once per object of 'rows'). Returns rows, row_count and columns."
    )
    #: Offered only to requests that speak of a database: every other request would get a
    #: "save it somewhere" step it never asked for.
    offer_when = (
        r"\b(?:sql|sqlite\d?|postgres(?:ql)?|mysql|mariadb|databases?|db(?!\.\w)"
        r"|(?<!as a )(?<!in a )tables?|insert\s+(?:\w+\s+)?into|upsert\w*)\b"
    )
    input_schema = {
        "type": "object",
        "required": ["statement"],
        "properties": {
            "connection": {
                "type": "string",
                "pattern": _sql.NAME_PATTERN,
                "default": _sql.DEFAULT_NAME,
                "description": "name of a configured connection (APFLOW_SQL_<NAME>); "
                "'default' is a local SQLite file",
            },
            "statement": {
                "type": "string",
                "minLength": 1,
                "description": "one SQL statement with :name placeholders for values, e.g. "
                "SELECT * FROM users WHERE id = :id (cast with CAST(:id AS int), not :id::int); "
                "never put values or ${...} in it",
            },
            "params": {
                "type": "object",
                "description": "values bound to the :name placeholders (a ${...} reference "
                "is fine here); objects and lists are bound as JSON text",
            },
            "rows": {
                "type": "array",
                "items": {"type": "object"},
                "description": "run the statement once per object (e.g. INSERT a list of "
                "records); each object's keys fill the placeholders, over 'params'",
            },
            "max_rows": {
                "type": "integer",
                "minimum": 1,
                "maximum": 100_000,
                "default": DEFAULT_MAX_ROWS,
                "description": "return at most this many rows (truncated says if more)",
            },
            "timeout": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 3600,
                "default": 30,
                "description": "seconds the statement may run",
            },
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "rows": {
                "type": "array",
                "items": {"type": "object"},
                "description": "one {column: value} object per returned row",
            },
            "row_count": {
                "type": "integer",
                "description": "rows returned, or rows changed by a write",
            },
            "columns": {"type": "array", "items": {"type": "string"}},
            "truncated": {"type": "boolean", "description": "more rows than max_rows"},
        },
    }

    def effect(self, inputs: dict[str, Any]) -> Effect:
        return _sql.statement_effect(inputs.get("statement") if isinstance(inputs, dict) else None)

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        invalid = self.validate_inputs(inputs)
        if invalid:
            return invalid
        statement = inputs["statement"]
        written = self.context.task.inputs if self.context is not None else inputs
        if "${" in str((written or {}).get("statement", "")):
            return failed(
                "the statement is built from a ${...} reference; SQL text must not hold data "
                'from other tasks (write :name in it and bind the value: params: {"name": '
                '"${task.result.field}"})',
                "validation_error",
            )
        problem = _sql.statement_problem(statement)
        if problem:
            return failed(problem, "validation_error")
        try:
            conn = _sql.connection(inputs.get("connection", _sql.DEFAULT_NAME))
        except ConfigError as exc:
            return failed(str(exc), "config_error")
        params = inputs.get("params") or {}
        batch = None
        if "rows" in inputs:
            batch = [_bindable({**params, **row}) for row in inputs["rows"]]
            if not batch:
                return completed({"rows": [], "row_count": 0, "columns": [], "truncated": False})
        timeout = float(inputs.get("timeout", 30))
        try:
            # The SQLite deadline stops the query itself; this one also bounds lock waits.
            async with asyncio.timeout(timeout + 5):
                result = await run(
                    conn,
                    statement,
                    batch if batch is not None else _bindable(params),
                    max_rows=int(inputs.get("max_rows", DEFAULT_MAX_ROWS)),
                    timeout=timeout,
                )
        except TimeoutError:
            return failed(f"the statement did not finish within {timeout}s", "timeout")
        except SqlError as exc:
            return failed(str(exc), exc.error_type, retryable=exc.error_type == "connect_error")
        except ConfigError as exc:
            return failed(str(exc), "config_error")
        return completed(result)


async def run(
    conn: SqlConnection,
    statement: str,
    params: dict[str, Any] | list[dict[str, Any]],
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    timeout: float = 30,
) -> dict[str, Any]:
    """Run one statement on ``conn``; read-only unless it allows writes. Raises SqlError."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError, StatementError

    if conn.is_sqlite:
        _prepare_sqlite_file(conn)
    engine = _sql.engine_for(conn)
    if not conn.is_sqlite and not conn.writable and engine.dialect.name == "postgresql":
        # asyncpg starts the transaction READ ONLY itself: nothing in it can lift that
        engine = engine.execution_options(postgresql_readonly=True)
    try:
        db = await engine.connect()
    except (OSError, SQLAlchemyError) as exc:
        raise SqlError(
            f"cannot connect to SQL connection {conn.name!r}: {_message(exc)}", "connect_error"
        ) from None
    try:
        await _guard(db, conn, timeout)
        outcome = await db.execute(text(statement), params)
        result = _collect(outcome, max_rows)
        if isinstance(params, list) and outcome.rowcount is not None and outcome.rowcount < 0:
            result["row_count"] = len(params)  # asyncpg's executemany counts nothing
        if conn.writable:
            await db.commit()
        return result
    except (StatementError, DBAPIError) as exc:
        raise await _explain(db, conn, exc) from None
    finally:
        await db.rollback()
        await db.close()


async def _guard(db: AsyncConnection, conn: SqlConnection, timeout: float) -> None:
    """Read-only unless allowed, and a deadline, set on the connection before the statement."""
    if conn.is_sqlite:
        raw = (await db.get_raw_connection()).driver_connection
        await db.exec_driver_sql(f"PRAGMA busy_timeout = {int(min(timeout, 10) * 1000)}")
        await db.exec_driver_sql(f"PRAGMA query_only = {0 if conn.writable else 1}")
        deadline = time.monotonic() + timeout
        await raw.set_progress_handler(
            lambda: 1 if time.monotonic() > deadline else 0, _SQLITE_CHECK_EVERY
        )
        await raw.set_authorizer(_sql.sqlite_authorizer)
        return
    if db.dialect.name == "postgresql":
        await db.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
    elif not conn.writable:
        await db.exec_driver_sql("SET TRANSACTION READ ONLY")


def _prepare_sqlite_file(conn: SqlConnection) -> None:
    """Make the quick-start file's folder; never create the file of a read-only connection."""
    path = _sql.sqlite_path(conn)
    if path is None:
        return
    if conn.source == "built-in":
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not conn.writable and not path.is_file():
        raise SqlError(
            f"SQL connection {conn.name!r} ({conn.source}): database file {str(path)!r} "
            "does not exist; a read-only connection does not create it",
            "connect_error",
            hint=f"check {conn.source}, or set {conn.write_variable}=1 to let it be created",
        )


def _collect(outcome: Any, max_rows: int) -> dict[str, Any]:
    if not outcome.returns_rows:
        count = outcome.rowcount if outcome.rowcount is not None else 0
        return {"rows": [], "row_count": max(count, 0), "columns": [], "truncated": False}
    columns = list(outcome.keys())
    fetched = outcome.fetchmany(max_rows + 1)
    rows = [{c: _jsonable(v) for c, v in zip(columns, row, strict=False)} for row in fetched]
    truncated = len(rows) > max_rows
    rows = rows[:max_rows]
    return {"rows": rows, "row_count": len(rows), "columns": columns, "truncated": truncated}


async def _explain(db: AsyncConnection, conn: SqlConnection, exc: Exception) -> SqlError:
    """The database's own message as a SqlError with the right error_type and a hint."""
    from sqlalchemy.exc import DBAPIError

    orig = getattr(exc, "orig", None)
    message = _message(exc)
    lower = message.lower()
    if not isinstance(exc, DBAPIError):  # raised before the database saw it
        return SqlError(message, "validation_error", hint="bind every :name through params")
    if _is_read_only(orig, lower):
        return SqlError(
            f"SQL connection {conn.name!r} is read-only: {message}",
            "write_not_allowed",
            hint=f"set {conn.write_variable}=1 to allow writes on it",
        )
    if "not authorized" in lower or "authorization denied" in lower:
        return SqlError(
            f"refused: {message}",
            "disallowed",
            hint="ATTACH, DETACH, VACUUM and PRAGMAs that set something are not allowed",
        )
    if lower.endswith("interrupted") or getattr(orig, "sqlstate", None) == "57014":
        return SqlError(f"the statement ran out of time: {message}", "timeout")
    if "one statement at a time" in lower or "multiple commands" in lower:
        return SqlError("give one statement per task", "validation_error")
    if "no such table" in lower or getattr(orig, "sqlstate", None) == "42P01":
        tables = await _table_names(db)
        return SqlError(
            message,
            "sql_error",
            hint=f"tables on {conn.name!r}: {', '.join(tables[:20]) or 'none'}; create the "
            "table first (CREATE TABLE, on a connection that allows writes) or fix the name",
        )
    return SqlError(message, "sql_error")


def _is_read_only(orig: Any, lower: str) -> bool:
    if getattr(orig, "sqlite_errorname", None) == "SQLITE_READONLY":
        return True
    if getattr(orig, "sqlstate", None) == "25006" or getattr(orig, "pgcode", None) == "25006":
        return True
    return "readonly database" in lower or "read-only transaction" in lower


async def _table_names(db: AsyncConnection) -> list[str]:
    from sqlalchemy import inspect

    try:
        await db.rollback()
        return sorted(await db.run_sync(lambda sync: inspect(sync).get_table_names()))
    except Exception:  # a hint is not worth a second error
        return []


def _message(exc: BaseException) -> str:
    """The database's message without SQLAlchemy's SQL text, parameters and links."""
    orig = getattr(exc, "orig", None)
    source = orig if orig is not None else exc
    text_ = str(source).split("\n[SQL:")[0].split("\n(Background")[0]
    return " ".join(text_.split()) or type(source).__name__


def _bindable(params: dict[str, Any]) -> dict[str, Any]:
    """Objects and lists become JSON text: drivers bind scalars only."""
    return {
        k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
        for k, v in params.items()
    }


def _jsonable(value: Any) -> Any:
    """A column value as JSON: dates as ISO text, decimals as numbers, bytes as base64."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Decimal):
        whole = value.is_finite() and value == value.to_integral_value()
        return int(value) if whole else float(value)
    if isinstance(value, (datetime, date, dtime)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (dict, list)):
        return value
    return str(value)
