"""The terminal-only displays (live run table, generation spinner) on a forced terminal."""

import asyncio
import io
import json

from rich.console import Console

from apflow.cli import progress as progress_module
from apflow.cli import watch as watch_module
from apflow.generator import GenerationEvent
from apflow.llm import ScriptedClient
from apflow.llm.base import CountingClient
from apflow.spec import validate_tree
from tests.cli.conftest import OFFLINE_TREE


def _terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=120, color_system=None), buffer


def test_live_table_shows_every_task_with_final_statuses_and_counts(monkeypatch, db_url):
    console, buffer = _terminal()
    monkeypatch.setattr(watch_module, "console", console)
    assert watch_module.pick_display(False) == "live"
    spec = validate_tree(OFFLINE_TREE).spec
    state = watch_module.TreeOutcome()
    asyncio.run(watch_module.run_tree(state, spec=spec, display="live", db=db_url))
    text = buffer.getvalue()
    for task_id in ("report", "numbers", "greeting"):
        assert task_id in text
    assert "3 completed" in text
    assert state.root is not None and state.root.status == "completed"


def test_generation_progress_draws_phases_calls_and_tokens():
    console, buffer = _terminal()
    client = CountingClient(ScriptedClient([json.dumps(OFFLINE_TREE)]))
    display = progress_module.GenerationProgress(console, client)
    with display:
        display.on_event(GenerationEvent("generate", "start"))
        asyncio.run(client.complete([{"role": "user", "content": "count and greet"}]))
        display.on_event(GenerationEvent("generate", "done", "0.10s"))
        display.on_event(GenerationEvent("validate", "failed", "0.01s"))
    text = buffer.getvalue()
    assert "ok generate" in text and "failed validate" in text
    assert client.calls == 1 and client.tokens > 0
    assert "1 LLM call," in display.summary() and "tokens" in display.summary()
