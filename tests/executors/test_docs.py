"""docs/executors.md and docs/security.md: python blocks run and shown outputs are printed."""

from __future__ import annotations

import pytest

from tests.docs_blocks import DOCS, run_blocks


@pytest.mark.parametrize("page", ["executors.md", "security.md"])
def test_python_blocks_run_and_shown_output_matches(page, monkeypatch, tmp_path):
    monkeypatch.delenv("APFLOW_ALLOW_PRIVATE_NETWORK", raising=False)
    monkeypatch.chdir(tmp_path)
    run = run_blocks(DOCS / page)
    for expected in run.expected:
        assert expected in run.output, expected


def test_every_builtin_executor_is_documented():
    from apflow.core.registry import default_registry

    text = (DOCS / "executors.md").read_text()
    builtins = [
        i
        for i in default_registry.ids()
        if default_registry.get_class(i).__module__.startswith("apflow.executors")
    ]
    missing = [i for i in builtins if f"`{i}`" not in text]
    assert not missing, missing
