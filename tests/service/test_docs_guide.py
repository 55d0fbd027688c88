"""docs/guide.md: the guide's snippets run, in order, and print what the page shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from apflow.core.registry import default_registry

DOC = Path(__file__).parents[2] / "docs" / "guide.md"


def test_the_guide_snippets_run_and_print_what_the_page_shows(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```(python|text)\n(.*?)```", DOC.read_text(), flags=re.S)
    namespace = {"__name__": "guide"}
    expected, printed = [], []
    with default_registry.temporarily():  # the page registers executors; they go after
        for kind, code in blocks:
            if kind == "python":
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    exec(compile(code, str(DOC), "exec"), namespace)
                printed.append(out.getvalue().strip())
            else:
                expected.append(code.strip())
    shown = [p for p in printed if p]
    assert len(expected) >= 9
    assert shown == expected
