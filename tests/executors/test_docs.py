"""docs/executors.md and docs/security.md: python blocks run and shown outputs are printed."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[2] / "docs"


@pytest.mark.parametrize("page", ["executors.md", "security.md"])
def test_python_blocks_run_and_shown_output_matches(page, monkeypatch):
    monkeypatch.delenv("APFLOW_ALLOW_PRIVATE_NETWORK", raising=False)
    text = (DOCS / page).read_text()
    blocks = re.findall(r"```(python|text)\n(.*?)```", text, flags=re.S)
    namespace: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for kind, code in blocks:
            if kind == "python":
                exec(compile(code, str(DOCS / page), "exec"), namespace)
    for kind, expected in blocks:
        if kind == "text":
            assert expected.strip() in printed.getvalue(), expected


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
