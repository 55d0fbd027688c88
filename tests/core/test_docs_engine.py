"""docs/engine.md: every python block runs, in order, and prints exactly what the page shows."""

from __future__ import annotations

from tests.docs_blocks import DOCS, blocks, run_blocks

DOC = DOCS / "engine.md"


def test_every_example_runs_and_prints_what_the_page_shows(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    page = blocks(DOC)
    assert [block.kind for block in page].count("python") >= 7
    expected = [block.code for block in page if block.kind == "text"]
    run = run_blocks(DOC, "docs_engine")
    assert run.output == "".join(expected)
