"""docs/spec.md: every python block runs, and the shown outputs are what the code prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from apflow.spec import IssueCode

DOC = Path(__file__).parents[2] / "docs" / "spec.md"


def test_every_python_block_runs_and_shown_output_matches():
    text = DOC.read_text()
    blocks = re.findall(r"```(python|text)\n(.*?)```", text, flags=re.S)
    namespace: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for kind, code in blocks:
            if kind == "python":
                exec(compile(code, str(DOC), "exec"), namespace)
    output = printed.getvalue()
    shown = [code.strip() for kind, code in blocks if kind == "text"]
    assert shown, "the page shows expected output"
    for expected in shown:
        assert expected in output, expected


def test_every_code_is_documented():
    text = DOC.read_text()
    for code in IssueCode:
        assert f"| `{code}` |" in text, code
