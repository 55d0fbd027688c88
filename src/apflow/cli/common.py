"""Shared CLI plumbing: global state, one-line errors, running coroutines."""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from apflow.core.errors import ApflowError

T = TypeVar("T")


class _Console(Console):
    """A rich Console that never hard-wraps a printed line when its output is not a terminal.

    Why: piped or captured output is read by programs (``apflow validate x.json | grep ok``),
    and a path, an id or a verdict split over two lines at column 80 breaks them. Tables,
    trees and panels keep their layout; only line wrapping of printed text is off.
    On a terminal, lines wrap at the terminal's width as usual.
    """

    def print(self, *objects: Any, soft_wrap: bool | None = None, **kwargs: Any) -> None:
        if soft_wrap is None:
            soft_wrap = self.soft_wrap or not self.is_terminal
        super().print(*objects, soft_wrap=soft_wrap, **kwargs)


console = _Console(stderr=True)
out = _Console()


@dataclass
class CLIState:
    db: str | None = None
    verbose: int = 0


state = CLIState()


def fail(message: str, hint: str | None = None, code: int = 1) -> typer.Exit:
    """Print one red line (and a hint) on stderr; return the Exit to raise."""
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if hint:
        console.print(f"[dim]hint: {escape(hint)}[/]", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(fn: Callable[..., T]) -> Callable[..., T]:
    """Turn ApflowError (and other user-caused errors) into one clear line, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException, SystemExit):
            raise
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None
        except ApflowError as exc:
            if state.verbose:
                console.print_exception()
            message = str(exc.args[0]) if exc.args else type(exc).__name__
            raise fail(message, exc.hint) from None
        except OSError as exc:
            if state.verbose:
                console.print_exception()
            if exc.filename:
                message = f"{exc.strerror or exc}: {exc.filename}"
                hint = "check the path, its permissions and free space"
            else:  # a refused or failed connection (e.g. the database server)
                message = f"{type(exc).__name__}: {exc}"
                hint = "check that the service is running and the address (--db, URLs) is right"
            raise fail(message, hint) from None
        except ValueError as exc:
            if state.verbose:
                console.print_exception()
            raise fail(f"{type(exc).__name__}: {exc}") from None
        except Exception as exc:
            if state.verbose:
                console.print_exception()
            if _is_database_error(exc):
                from apflow.core.database import error_line

                raise fail(
                    f"database error: {error_line(exc)}",
                    "check --db / APFLOW_DATABASE_URL (a SQLite file apflow created, or a "
                    "reachable server); run again with -v for the traceback",
                ) from None
            raise fail(
                f"unexpected {type(exc).__name__}: {exc}",
                "run again with -v for the traceback, and report it if it persists",
            ) from None

    return wrapper


def _is_database_error(exc: BaseException) -> bool:
    """True for SQLAlchemy's driver errors, without importing SQLAlchemy when unused."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.DBAPIError)


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout and nothing else (for ``--json``)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def read_json_file(path: str) -> Any:
    """Load a JSON file, turning a missing file or bad JSON into one actionable error."""
    p = Path(path)
    if not p.exists():
        raise ApflowError(f"file not found: {path}", hint="check the path (ls it) and try again")
    if p.is_dir():
        raise ApflowError(f"{path} is a directory", hint="pass a JSON file holding the task tree")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ApflowError(f"{path} is not a text file", hint="pass a UTF-8 JSON file") from None
    except json.JSONDecodeError as exc:
        raise ApflowError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            hint="fix the JSON syntax (a linter such as `python -m json.tool FILE` shows it)",
        ) from None


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, closing cached database engines afterwards."""
    from apflow.core.database import dispose_engines

    async def wrapped() -> T:
        try:
            return await coro
        finally:
            await dispose_engines()
            await _let_sqlite_threads_finish()

    return asyncio.run(wrapped())


async def _let_sqlite_threads_finish(timeout: float = 0.5) -> None:
    """Keep the loop open until aiosqlite's worker threads have ended (at most ``timeout``).

    Why: when a connection fails to open, aiosqlite stops its thread without waiting, and the
    thread then reports to the event loop; if ``asyncio.run`` has closed the loop by then,
    the thread prints a "RuntimeError: Event loop is closed" traceback after our error line.
    """
    import threading

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline and any(
        "_connection_worker_thread" in t.name and t.is_alive() for t in threading.enumerate()
    ):
        await asyncio.sleep(0.005)
