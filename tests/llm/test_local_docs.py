"""docs/local-model.md: the python blocks run (those needing the model at least compile)."""

from __future__ import annotations

from apflow.llm import local_models
from tests.docs_blocks import DOCS, run_blocks

DOC = DOCS / "local-model.md"


def test_python_blocks_run_and_print_the_transcript(monkeypatch, tmp_path):
    monkeypatch.setenv("APFLOW_MODELS_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    run = run_blocks(DOC, "docs_local_model")  # a <!-- needs-model --> block is only compiled
    assert run.ran >= 1
    shown = run.expected
    assert shown and all(text in run.output for text in shown)


def test_pinned_hashes_in_the_docs_match_the_code():
    text = DOC.read_text()
    for spec in local_models.CATALOGUE.values():
        assert f"`{spec.sha256}`" in text and f"{spec.size:,} B" in text
