"""The pages the best-practices guide links to: every python block runs and prints what the
page shows; the Python API page names every public name."""

from __future__ import annotations

import importlib
import re

import pytest

from tests.docs_blocks import DOCS, run_page

PAGES = [
    "task-tree-lifecycle.md",
    "task-orchestration.md",
    "custom-tasks.md",
    "generate-executor.md",
]


@pytest.mark.parametrize("page", PAGES)
def test_python_blocks_run_and_print_what_the_page_shows(page, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    expected, printed = run_page(DOCS / page, page)
    assert expected, "the page shows what its blocks print"
    assert printed == expected
