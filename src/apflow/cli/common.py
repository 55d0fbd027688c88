"""Shared CLI plumbing: global state, one-line errors, running coroutines."""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import typer
from rich.console import Console

from apflow.core.errors import ApflowError

T = TypeVar("T")
console = Console(stderr=True)
out = Console()


@dataclass
class CLIState:
    db: str | None = None
    verbose: int = 0


state = CLIState()


def fail(message: str, hint: str | None = None, code: int = 1) -> typer.Exit:
    """Print one red line (and a hint) on stderr; return the Exit to raise."""
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    if hint:
        console.print(f"[dim]hint: {hint}[/]", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(fn: Callable[..., T]) -> Callable[..., T]:
    """Turn ApflowError (and other user-caused errors) into one clear line, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None
        except ApflowError as exc:
            if state.verbose:
                console.print_exception()
            raise fail(
                super(ApflowError, exc).__str__() if exc.hint else str(exc), exc.hint
            ) from None
        except (OSError, ValueError) as exc:
            if state.verbose:
                console.print_exception()
            raise fail(f"{type(exc).__name__}: {exc}") from None

    return wrapper


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, closing cached database engines afterwards."""
    from apflow.core.database import dispose_engines

    async def wrapped() -> T:
        try:
            return await coro
        finally:
            await dispose_engines()

    return asyncio.run(wrapped())


def is_tty() -> bool:
    return sys.stderr.isatty()
