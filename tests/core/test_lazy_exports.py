"""Packages load their public names on first use (PEP 562); every name stays importable.

Why it matters: ``apflow validate`` used to spend half its time importing SQLAlchemy and the
engine through ``apflow/__init__``. These tests keep the public API whole (each ``__all__``
name resolves, the type checkers' imports match the runtime table) and keep the light paths
light (checked in a fresh interpreter, where nothing else has been imported yet).
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import apflow

SRC = Path(apflow.__file__).parent
LAZY_PACKAGES = sorted(
    ".".join(("apflow", *p.parent.relative_to(SRC).parts))
    for p in SRC.rglob("__init__.py")
    if "lazy_exports(" in p.read_text()
)


def fresh(code: str) -> object:
    """Run ``code`` in a new interpreter; it prints one JSON value, returned here."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_main_packages_are_lazy():
    assert {"apflow", "apflow.core", "apflow.spec", "apflow.service"} <= set(LAZY_PACKAGES)


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_resolves_and_dir_lists_it(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        module.no_such_name  # noqa: B018


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_the_type_checkers_imports_match_the_runtime_table(package):
    module = importlib.import_module(package)
    tree = ast.parse(Path(module.__file__).read_text())
    guarded = next(
        n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"
    )
    seen = {
        alias.name
        for node in ast.walk(guarded)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    table = {name for names in module._EXPORTS.values() for name in names}
    assert seen == table
    assert table <= set(module.__all__)


def test_a_name_imported_from_the_package_is_the_defining_modules_object():
    from apflow import TaskManager, validate_tree
    from apflow.core.engine import TaskManager as engine_manager
    from apflow.spec.validator import validate_tree as validator_validate

    assert TaskManager is engine_manager
    assert validate_tree is validator_validate


def test_star_import_of_the_top_package_gives_every_public_name():
    names = fresh("import json; from apflow import *; print(json.dumps(sorted(dir())))")
    assert set(apflow.__all__) <= set(names)


def test_import_apflow_loads_no_library():
    loaded = fresh(
        "import json, sys, apflow; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('apflow', 'sqlalchemy', 'pydantic', 'jsonschema'))))"
    )
    assert loaded == ["apflow", "apflow.core", "apflow.core.lazy"]


def test_the_validate_command_loads_no_storage_engine_generator_or_model_layer(tmp_path):
    tree = tmp_path / "tree.json"
    tree.write_text(
        json.dumps(
            [
                {"id": "root", "schemas": {"method": "aggregate_results_executor"}},
                {"id": "a", "parent_id": "root", "schemas": {"method": "transform_executor"}},
            ]
        )
    )
    code = (
        "import json, sys\n"
        "from apflow.cli.app import main\n"
        f"sys.argv = ['apflow', 'validate', '--json', {str(tree)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = fresh(code)
    assert "apflow.spec.validator" in loaded  # it did validate
    heavy = ("sqlalchemy", "apflow.core.engine", "apflow.generator.api", "apflow.llm.factory")
    heavy += ("litellm", "mcp", "apflow.service.trees")
    assert not [m for m in loaded if m.startswith(heavy)]


def test_a_submodule_read_as_an_attribute_is_imported_as_before():
    loaded = fresh(
        "import json, apflow.core; "
        "print(json.dumps([apflow.core.engine.TaskManager.__name__, "
        "apflow.core.models.__name__, hasattr(apflow.core, 'no_such_module')]))"
    )
    assert loaded == ["TaskManager", "apflow.core.models", False]
