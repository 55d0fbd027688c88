"""Dependencies point one way: core <- spec <- llm <- executors <- generator <- cli/mcp/evals.

The core stays usable alone, and the model clients never reach up into the generator.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import apflow

SRC = Path(apflow.__file__).parent
CORE = SRC / "core"
FORBIDDEN = (
    "apflow.spec",
    "apflow.executors",
    "apflow.service",
    "apflow.llm",
    "apflow.generator",
    "apflow.cli",
    "apflow.mcp",
    "apflow.evals",
)
#: What each lower layer must never import (at top level or inside a function).
ABOVE = {
    "llm": (
        "apflow.executors",
        "apflow.generator",
        "apflow.service",
        "apflow.cli",
        "apflow.mcp",
        "apflow.evals",
    ),
    "spec": (
        "apflow.llm",
        "apflow.executors",
        "apflow.generator",
        "apflow.service",
        "apflow.cli",
        "apflow.mcp",
    ),
    "executors": ("apflow.generator", "apflow.service", "apflow.cli", "apflow.mcp", "apflow.evals"),
    "generator": ("apflow.service", "apflow.cli", "apflow.mcp", "apflow.evals"),
    "service": ("apflow.cli", "apflow.mcp", "apflow.evals", "apflow.ui"),
    # the web console sits beside the CLI and the MCP server (it shares the MCP token
    # settings) and reaches the engine only through the service
    "ui": ("apflow.cli", "apflow.evals", "apflow.spec", "apflow.generator", "apflow.executors"),
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = "apflow" + "".join("." + p for p in path.parent.relative_to(SRC).parts)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.append(f"{base}.{node.module}" if node.module else base)
            else:
                found.append(node.module or "")
    return found


def test_core_never_imports_higher_layers():
    files = sorted(CORE.rglob("*.py"))
    assert len(files) >= 10
    offending = {
        f"{path.relative_to(CORE)}: {name}"
        for path in files
        for name in _imports(path)
        if name == "apflow" or any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    }
    assert not offending, sorted(offending)


@pytest.mark.parametrize("layer", sorted(ABOVE))
def test_lower_layers_never_import_higher_ones(layer):
    root = SRC / layer
    files = sorted(root.rglob("*.py"))
    assert files
    offending = {
        f"{path.relative_to(SRC)}: {name}"
        for path in files
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in ABOVE[layer])
    }
    assert not offending, sorted(offending)


def test_importing_the_core_loads_no_higher_layer():
    code = (
        "import json, sys, apflow.core; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('apflow'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert "apflow.core.engine" in loaded
    assert not [m for m in loaded if m.startswith(FORBIDDEN)], loaded
