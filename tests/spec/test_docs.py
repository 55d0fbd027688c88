"""docs/spec.md: every python block runs, and the shown outputs are what the code prints."""

from __future__ import annotations

from apflow.spec import IssueCode
from tests.docs_blocks import DOCS, run_blocks

DOC = DOCS / "spec.md"


def test_every_python_block_runs_and_shown_output_matches(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    run = run_blocks(DOC)
    output = run.output
    shown = run.expected
    assert shown, "the page shows expected output"
    for expected in shown:
        assert expected in output, expected


def test_every_code_is_documented():
    text = DOC.read_text()
    for code in IssueCode:
        assert f"| `{code}` |" in text, code
