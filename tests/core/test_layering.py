"""The core stays usable alone: it never imports the layers built on top of it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import apflow.core

CORE = Path(apflow.core.__file__).parent
FORBIDDEN = ("apflow.spec", "apflow.generator", "apflow.cli", "apflow.mcp", "apflow.evals")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = "apflow.core" + "".join("." + p for p in path.parent.relative_to(CORE).parts)
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


def test_importing_the_core_loads_no_higher_layer():
    code = (
        "import json, sys, apflow.core; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('apflow'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert "apflow.core.engine" in loaded
    assert not [m for m in loaded if m.startswith(FORBIDDEN)], loaded
