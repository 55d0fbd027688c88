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
    "python-api.md",
    "basic-task.md",
    "architecture.md",
]


@pytest.mark.parametrize("page", PAGES)
def test_python_blocks_run_and_print_what_the_page_shows(page, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    expected, printed = run_page(DOCS / page, page)
    assert expected, "the page shows what its blocks print"
    assert printed == expected


@pytest.mark.parametrize("module", ["apflow", "apflow.spec", "apflow.generator", "apflow.service"])
def test_every_public_name_is_in_the_python_api_page(module):
    text = (DOCS / "python-api.md").read_text()
    section = text.split(f"\n## {module}\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.M))
    public = set(importlib.import_module(module).__all__)
    assert public - documented == set(), "undocumented"
    assert documented - public == set(), "documented but not public"


def test_docs_readme_maps_every_link_of_the_guide_to_a_page():
    text = (DOCS / "README.md").read_text()
    links = [
        "../architecture/task-tree-lifecycle.md",
        "task-orchestration.md",
        "custom-tasks.md",
        "../examples/generate-executor.md",
        "../development/generate-executor-improvements.md",
        "../examples/basic_task.md",
        "../api/python.md",
        "../development/contributing.md",
    ]
    rows = dict(re.findall(r"^\| `([^`]+)` \| \[[^\]]+\]\(([^)]+)\)", text, flags=re.M))
    assert set(rows) == set(links)
    for page in rows.values():
        assert (DOCS / page).is_file(), page
