"""docs/generator.md: every python block runs, and the transcript shown is what it prints."""

from __future__ import annotations

from tests.docs_blocks import DOCS, run_blocks

DOC = DOCS / "generator.md"


def test_python_blocks_run_and_the_transcript_matches(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    run = run_blocks(DOC, "docs_generator")
    shown = run.expected
    assert shown, "the page shows a transcript"
    for expected in shown:
        assert expected in run.output


def test_every_template_is_documented():
    text = DOC.read_text()
    for name in ("single_shot.j2", "plan.j2", "structure.j2", "repair.j2", "baseline.j2"):
        assert f"`{name}`" in text
