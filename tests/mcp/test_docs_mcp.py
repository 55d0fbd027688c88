"""docs/mcp.md: the example session runs and prints what the page shows; configs are JSON."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "mcp.md"


def test_example_session_prints_what_the_page_shows(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    text = DOC.read_text()
    blocks = re.findall(r"```(python|text)\n(.*?)```", text, flags=re.S)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for kind, code in blocks:
            if kind == "python":
                exec(compile(code, str(DOC), "exec"), {"__name__": "docs"})
    shown = [code for kind, code in blocks if kind == "text"]
    assert shown
    for expected in shown:
        assert expected.strip() == printed.getvalue().strip()


def test_client_configs_on_the_page_are_valid_json_with_the_serve_command():
    configs = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", DOC.read_text(), re.S)]
    servers = [c["mcpServers"]["apflow"] for c in configs]
    assert servers[0]["args"] == ["serve", "mcp"]
    assert any(s.get("url", "").endswith("/mcp") for s in servers)
