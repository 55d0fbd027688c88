"""Live generation progress on stderr: spinner, current phase, elapsed, LLM calls and tokens."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner

if TYPE_CHECKING:  # importing the generator costs ~0.5 s; only `apflow generate` needs it
    from apflow.llm.base import CountingClient


class GenerationProgress:
    """Receives the bus's ``generate:*`` events (or GenerationEvents: ``phase``, ``status``,
    ``detail``); draws a spinner line on a terminal, plain lines otherwise."""

    def __init__(self, console: Console, client: CountingClient, *, enabled: bool = True) -> None:
        self.console = console
        self.client = client
        self.enabled = enabled
        self.phase = "starting"
        self.started = time.monotonic()
        self.spinner = Spinner("dots", style="cyan")
        self._live: Live | None = None

    def _line(self) -> str:
        elapsed = time.monotonic() - self.started
        return (
            f"[bold]{escape(self.phase)}[/] [dim]{elapsed:5.1f}s · {self.client.calls} LLM "
            f"call{'s' if self.client.calls != 1 else ''} · {self.client.tokens:,} tokens[/]"
        )

    def _render(self) -> Spinner:
        self.spinner.update(text=self._line())
        return self.spinner

    def __enter__(self) -> GenerationProgress:
        self.started = time.monotonic()
        if self.enabled and self.console.is_terminal:
            self._live = Live(
                get_renderable=self._render,
                console=self.console,
                refresh_per_second=10,
                transient=True,
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def on_event(self, event: Any) -> None:
        if not self.enabled:
            return
        phase, status, detail = event.phase, event.status, event.detail or ""
        if status in ("start", "attempt"):
            self.phase = f"{phase}: {detail}" if status == "attempt" and detail else phase
            return
        mark = "[green]ok[/]" if status == "done" else "[red]failed[/]"
        text = f"  {mark} {escape(phase):<10} {escape(detail):>7}"
        if self._live is not None:
            self._live.console.print(text, highlight=False)
        else:
            self.console.print(text, highlight=False)

    def summary(self) -> str:
        elapsed = time.monotonic() - self.started
        return (
            f"generated in {elapsed:.1f}s with {self.client.calls} LLM call"
            f"{'s' if self.client.calls != 1 else ''}, {self.client.tokens:,} tokens "
            f"({escape(str(self.client.model))})"
        )
