"""docs/mcp.md: the example session runs and prints what the page shows; configs are JSON."""

from __future__ import annotations

import json
import re

from tests.docs_blocks import DOCS, run_blocks

DOC = DOCS / "mcp.md"


def test_example_session_prints_what_the_page_shows(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    run = run_blocks(DOC)
    shown = run.expected
    assert shown
    for expected in shown:
        assert expected.strip() == run.output.strip()


def test_client_configs_on_the_page_are_valid_json_with_the_serve_command():
    configs = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", DOC.read_text(), re.S)]
    servers = [c["mcpServers"]["apflow"] for c in configs]
    assert servers[0]["args"] == ["serve", "mcp"]
    assert any(s.get("url", "").endswith("/mcp") for s in servers)
