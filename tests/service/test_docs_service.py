"""docs/service.md: the example runs and prints what the page shows."""

from __future__ import annotations

from tests.docs_blocks import DOCS, run_blocks

DOC = DOCS / "service.md"


def test_example_prints_what_the_page_shows(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    run = run_blocks(DOC)
    shown = run.expected
    assert len(shown) == 1 and shown[0].strip() == run.output.strip()
