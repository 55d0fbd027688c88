"""docs/service.md: the example runs and prints what the page shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "service.md"


def test_example_prints_what_the_page_shows(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```(python|text)\n(.*?)```", DOC.read_text(), flags=re.S)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for kind, code in blocks:
            if kind == "python":
                exec(compile(code, str(DOC), "exec"), {"__name__": "docs"})
    shown = [code for kind, code in blocks if kind == "text"]
    assert len(shown) == 1 and shown[0].strip() == printed.getvalue().strip()
