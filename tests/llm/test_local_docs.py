"""docs/local-model.md: the python blocks run (those needing the model at least compile)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from apflow.llm import local_models

DOC = Path(__file__).parents[2] / "docs" / "local-model.md"
BLOCK = re.compile(r"(<!-- needs-model -->\n)?```(python|text)\n(.*?)```", flags=re.S)


def test_python_blocks_run_and_print_the_transcript(monkeypatch, tmp_path):
    monkeypatch.setenv("APFLOW_MODELS_DIR", str(tmp_path))
    blocks = BLOCK.findall(DOC.read_text())
    printed = io.StringIO()
    namespace: dict = {"__name__": "docs_local_model"}
    ran = 0
    with contextlib.redirect_stdout(printed):
        for needs_model, kind, code in blocks:
            if kind != "python":
                continue
            compiled = compile(code, str(DOC), "exec")
            if not needs_model:
                exec(compiled, namespace)
                ran += 1
    assert ran >= 1
    shown = [code.strip() for _, kind, code in blocks if kind == "text"]
    assert shown and all(text in printed.getvalue() for text in shown)


def test_pinned_hashes_in_the_docs_match_the_code():
    text = DOC.read_text()
    for spec in local_models.CATALOGUE.values():
        assert f"`{spec.sha256}`" in text and f"{spec.size:,} B" in text
