"""apflow.spec sits on the core only: no generator, CLI, MCP, evals or executor imports."""

from __future__ import annotations

import ast
from pathlib import Path

import apflow.spec

SPEC = Path(apflow.spec.__file__).parent
HIGHER = ("apflow.generator", "apflow.cli", "apflow.mcp", "apflow.evals", "apflow.executors")


def test_spec_imports_only_the_core_and_itself():
    offending = []
    for path in sorted(SPEC.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offending += [
                f"{path.name}: {n}" for n in names if n == "apflow" or n.startswith(HIGHER)
            ]
    assert len(list(SPEC.glob("*.py"))) >= 10 and not offending, offending
