"""docs/generator.md: every python block runs, and the transcript shown is what it prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "generator.md"


def test_python_blocks_run_and_the_transcript_matches():
    text = DOC.read_text()
    blocks = re.findall(r"```(python|text)\n(.*?)```", text, flags=re.S)
    namespace: dict = {"__name__": "docs_generator"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for kind, code in blocks:
            if kind == "python":
                exec(compile(code, str(DOC), "exec"), namespace)
    shown = [code.strip() for kind, code in blocks if kind == "text"]
    assert shown, "the page shows a transcript"
    for expected in shown:
        assert expected in printed.getvalue()


def test_every_template_is_documented():
    text = DOC.read_text()
    for name in ("single_shot.j2", "plan.j2", "structure.j2", "repair.j2", "baseline.j2"):
        assert f"`{name}`" in text
