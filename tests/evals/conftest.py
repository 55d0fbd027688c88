"""Shared helpers for the eval tests: the reference scorer, when it is available."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REFERENCE_CANDIDATES = [
    REPO.parent / "shared" / "evals" / "score_reference.py",
    Path("/work/shared/evals/score_reference.py"),
]


@pytest.fixture(scope="session")
def reference_scorer():
    """The upstream reference scorer module, or a skip saying where it was looked for."""
    for path in REFERENCE_CANDIDATES:
        if path.is_file():
            spec = importlib.util.spec_from_file_location("score_reference", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    pytest.skip("reference scorer not found at " + ", ".join(map(str, REFERENCE_CANDIDATES)))
