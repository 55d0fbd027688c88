"""The docs-block runner: a page's ``python`` blocks run in order, in one namespace.

Each ``text`` block after a python block is what that block prints. A block may use
top-level ``await`` (the guide's snippets do); it then runs in ``asyncio.run``. A python
block right after ``<!-- file: PATH -->`` is a file of the example: it is written to PATH
(relative to the working directory, which is on ``sys.path`` while the page runs) instead of
being run. Executors the page registers, modules it imports from its files, environment
variables and ``sys.path`` changes are undone when the page is done.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import io
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).parents[1] / "docs"
BLOCK = re.compile(r"(?:<!-- file: (\S+) -->\n)?```(python|text)\n(.*?)```", flags=re.S)


def blocks(page: Path) -> list[tuple[str, str, str]]:
    """(file, kind, code) of each python and text block of ``page``; file is '' or a path.

    A python block's code starts with blank lines, so a traceback gives the page's line.
    """
    text = page.read_text()
    found = []
    for match in BLOCK.finditer(text):
        file, kind, code = match.groups()
        if kind == "python" and not file:
            code = "\n" * text.count("\n", 0, match.start(3)) + code
        found.append((file or "", kind, code))
    return found


def run_page(page: Path, name: str = "docs") -> tuple[list[str], list[str]]:
    """Run the python blocks of ``page``; (expected, printed): the non-empty outputs, in order."""
    from apflow.core.registry import default_registry

    namespace: dict = {"__name__": name}
    expected: list[str] = []
    printed: list[str] = []
    path, modules, environ = list(sys.path), set(sys.modules), dict(os.environ)
    sys.path.insert(0, os.getcwd())
    try:
        with default_registry.temporarily():
            for file, kind, code in blocks(page):
                if kind != "python":
                    expected.append(code.strip())
                elif file:
                    Path(file).parent.mkdir(parents=True, exist_ok=True)
                    Path(file).write_text(code)
                else:
                    out = io.StringIO()
                    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
                    with contextlib.redirect_stdout(out):
                        outcome = eval(compile(code, str(page), "exec", flags=flags), namespace)
                        if inspect.iscoroutine(outcome):
                            asyncio.run(outcome)
                    if out.getvalue().strip():
                        printed.append(out.getvalue().strip())
    finally:
        sys.path[:] = path
        for module in set(sys.modules) - modules:
            if getattr(sys.modules[module], "__file__", "") and os.getcwd() in str(
                sys.modules[module].__file__
            ):
                del sys.modules[module]
        os.environ.clear()
        os.environ.update(environ)
    return expected, printed
