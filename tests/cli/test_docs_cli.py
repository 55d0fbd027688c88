"""docs/cli.md: each ``$ apflow ...`` line runs with the exit code and output shown."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from typer.testing import CliRunner

from apflow.cli.app import app

DOC = Path(__file__).parents[2] / "docs" / "cli.md"
_TIMING = re.compile(r"^\s*ok \w+\s+[\d.]+s$|^generated in ")


def _squash(text: str) -> str:
    return " ".join(text.split())


def _commands(text: str) -> list[tuple[str, int, list[str]]]:
    """(command line, expected exit code, expected output lines) for each ``$ apflow`` line."""
    found: list[tuple[str, int, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                command, _, comment = line[2:].partition("  # ")
                match = re.search(r"exit (\d+)", comment)
                found.append((command.strip(), int(match.group(1)) if match else 0, []))
            elif found and line.strip() and "..." not in line and not _TIMING.search(line):
                found[-1][2].append(line)
    return found


def test_every_command_on_the_page_runs_as_shown(tmp_path, monkeypatch, db_url):
    text = DOC.read_text()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("APFLOW_MODEL", raising=False)
    monkeypatch.setenv("APFLOW_MODELS_DIR", str(tmp_path / "no-models"))
    for name, body in re.findall(r"<!-- file: (\S+) -->\n```json\n(.*?)```", text, flags=re.S):
        (tmp_path / name).write_text(body)
    commands = _commands(text)
    assert len(commands) >= 15
    runner = CliRunner()
    for command, code, shown in commands:
        args = shlex.split(command)
        assert args[0] == "apflow"
        result = runner.invoke(app, ["--db", db_url, *args[1:]], catch_exceptions=False)
        assert result.exit_code == code, (command, result.output)
        output = _squash(result.output)
        for line in shown:
            assert _squash(line) in output, (command, line, result.output)
