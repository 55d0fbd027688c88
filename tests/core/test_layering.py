"""Dependencies point one way, over every layer:

    core <- spec <- llm <- executors <- generator <- service <- cli / mcp / evals / ui

A package imports only itself and the layers below it, at top level or inside a function
(a lazy import does not get round the rule). Beside each other on top: the CLI starts the
MCP server, the console and the evals; the console reuses the MCP server's HTTP guards.
Function-level imports of third-party libraries are allowed only for the heavy or optional
ones listed in ``LAZY_LIBRARIES``, each with its reason.
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
#: Bottom to top; each package may import the ones before it.
LAYERS = ("core", "spec", "llm", "executors", "generator", "service")
TOP = ("cli", "mcp", "evals", "ui")
#: Top-level packages a top-level package may also use.
TOP_PEERS = {"cli": {"mcp", "evals", "ui"}, "ui": {"mcp"}, "mcp": set(), "evals": set()}
#: The console reaches trees, the generator and executors only through the service.
TOP_EXCLUDED = {"ui": {"spec", "generator", "executors"}}
#: Data shipped as a package (prompt templates): no Python logic, imports nothing.
DATA = ("prompts",)
#: Third-party libraries that may be imported inside a function, and why.
LAZY_LIBRARIES = {
    "litellm": "takes ~1.5 s to import; only model calls through a provider need it",
    "openai": "comes with litellm; only its error types are read, after a failed call",
    "llama_cpp": "the optional [local] extra: the embedded model",
    "llguidance": "the optional [local] extra: constrained decoding for the embedded model",
    "mcp": "the MCP SDK (~0.5 s); mcp_tool_executor needs its client only when it runs",
    "httpx2": "the MCP SDK's HTTP client, for mcp_tool_executor's HTTP transport",
    "httpx": "~0.15 s; only executors that make a request need it",
    "selectolax": "a native HTML parser; only scrape_executor needs it",
    "psutil": "native; only system_info_executor and the local model's memory check",
    "uvicorn": "only `apflow serve` runs a server",
    "asyncpg": "the optional [postgres] extra",
    "sqlalchemy": "~0.3 s; `apflow validate` loads the executors, and only sql_executor's run "
    "needs a database",
    "distributed": "the optional [dask] extra: only a run on a Dask cluster needs it",
    "dask": "the optional [dask] extra",
    "cloudpickle": "comes with the [dask] extra; ships executors to the workers",
}


def package_of(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    return parts[0] if len(parts) > 1 else ""


def allowed_packages(package: str) -> set[str]:
    if package in DATA:
        return set()
    if package in LAYERS:
        return set(LAYERS[: LAYERS.index(package) + 1])
    return {*LAYERS, package, *TOP_PEERS[package]} - TOP_EXCLUDED.get(package, set())


def imports(path: Path) -> list[tuple[str, bool]]:
    """``(module, inside a function)`` for every import of ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = "apflow" + "".join("." + p for p in path.parent.relative_to(SRC).parts)
    nested: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            nested.update(id(n) for n in ast.walk(fn) if n is not fn)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in nested) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.append((name, id(node) in nested))
    return found


SOURCES = sorted(p for p in SRC.rglob("*.py") if package_of(p))


def test_every_package_is_placed_in_a_layer():
    packages = {package_of(p) for p in SOURCES}
    assert packages == set(LAYERS) | set(TOP) | set(DATA), packages


@pytest.mark.parametrize("package", [*LAYERS, *TOP, *DATA])
def test_a_package_imports_only_itself_and_the_layers_below(package):
    files = [p for p in SOURCES if package_of(p) == package]
    assert files
    allowed = allowed_packages(package)
    offending = sorted(
        f"{path.relative_to(SRC)}: {name}{' (inside a function)' if lazy else ''}"
        for path in files
        for name, lazy in imports(path)
        if (name == "apflow" and package not in TOP)  # the root package: its version
        or (name.startswith("apflow.") and name.split(".")[1] not in allowed)
    )
    assert not offending, offending


def test_function_level_imports_of_libraries_are_only_the_listed_heavy_ones():
    offending = sorted(
        f"{path.relative_to(SRC)}: {name}"
        for path in SOURCES
        for name, lazy in imports(path)
        if lazy
        and name.split(".")[0] not in sys.stdlib_module_names
        and name.split(".")[0] != "apflow"
        and name.split(".")[0] not in LAZY_LIBRARIES
    )
    assert not offending, offending


def test_the_rules_would_catch_an_upward_import_inside_a_function(tmp_path):
    """The checker itself: a lazy upward import is found (so a passing test means something)."""
    sneaky = SRC / "core" / "_layering_probe.py"
    sneaky.write_text("def f():\n    from apflow.generator import generate_tree\n")
    try:
        found = imports(sneaky)
    finally:
        sneaky.unlink()
    assert found == [("apflow.generator", True)]
    assert "generator" not in allowed_packages("core")


def test_importing_the_core_loads_no_higher_layer():
    # Every public name of the core (they load on first use), so the whole engine is loaded.
    code = (
        "import json, sys; from apflow.core import *; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('apflow'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert "apflow.core.engine" in loaded
    higher = tuple(f"apflow.{p}" for p in (*LAYERS[1:], *TOP))
    assert not [m for m in loaded if m.startswith(higher)], loaded
