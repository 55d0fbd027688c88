"""docs/guide.md: the guide's snippets run, in order, and print what the page shows."""

from __future__ import annotations

from tests.docs_blocks import DOCS, run_page


def test_the_guide_snippets_run_and_print_what_the_page_shows(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    expected, printed = run_page(DOCS / "guide.md", "guide")
    assert len(expected) >= 9
    assert printed == expected
