"""docs/engine.md: every python block runs, in order, and prints exactly what the page shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "engine.md"


def test_every_example_runs_and_prints_what_the_page_shows(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```(python|text)\n(.*?)```", DOC.read_text(), flags=re.S)
    assert [kind for kind, _ in blocks].count("python") >= 7
    namespace: dict = {"__name__": "docs_engine"}
    expected: list[str] = []
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for kind, code in blocks:
            if kind == "python":
                exec(compile(code, str(DOC), "exec"), namespace)
            else:
                expected.append(code)
    assert printed.getvalue() == "".join(expected)
