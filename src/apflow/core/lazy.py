"""Package exports loaded on first use (PEP 562), so importing a package costs only what is used.

Why: ``import apflow`` used to import SQLAlchemy, the engine and the registry (~0.3 s) even for
``apflow validate``, which needs none of them. A package lists its public names and the module
each lives in; ``from apflow import TaskManager`` imports ``apflow.core.engine`` at that moment,
and the value is then cached in the package, so later lookups are plain attribute reads.
Each package keeps the same imports under ``TYPE_CHECKING`` for type checkers and IDEs.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, serving ``{module: [name, ...]}`` lazily."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            # A submodule read as an attribute (``apflow.core.engine`` after ``import
            # apflow.core``) worked while the package imported it eagerly: import it now.
            if not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}"):
                return importlib.import_module(f"{package}.{name}")
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # next lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *where})

    return __getattr__, __dir__
