"""The docs-block runner: a page's ``python`` blocks run in order, in one namespace.

Each ``text`` block after a python block is what that block prints. A block may use
top-level ``await`` (the guide's snippets do); it then runs in ``asyncio.run``. A python
block right after ``<!-- file: PATH -->`` is a file of the example: it is written to PATH
(relative to the working directory, which is on ``sys.path`` while the page runs) instead of
being run; one right after ``<!-- needs-model -->`` is only compiled (it needs the embedded
model). Executors the page registers, modules it imports from its files, environment
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

DOCS = Path(__file__).parents[1] / "docs"
BLOCK = re.compile(
    r"(?:<!-- (?:file: (\S+)|(needs-model)) -->\n)?```(python|text)\n(.*?)```", flags=re.S
)


class Block(NamedTuple):
    file: str  # '' or the path a file block is written to
    kind: str  # "python" or "text"
    code: str
    needs_model: bool = False


def blocks(page: Path) -> list[Block]:
    """Each python and text block of ``page``, in order.

    A python block's code starts with blank lines, so a traceback gives the page's line.
    """
    text = page.read_text()
    found = []
    for match in BLOCK.finditer(text):
        file, needs_model, kind, code = match.groups()
        if kind == "python" and not file:
            code = "\n" * text.count("\n", 0, match.start(4)) + code
        found.append(Block(file or "", kind, code, bool(needs_model)))
    return found


@dataclass
class PageRun:
    """What running a page's blocks gave."""

    #: each text block, stripped
    expected: list[str] = field(default_factory=list)
    #: the non-empty output of each python block that printed, stripped
    printed: list[str] = field(default_factory=list)
    #: everything the blocks printed, as printed
    output: str = ""
    #: how many python blocks ran (file blocks and blocks that need the model do not run)
    ran: int = 0


def run_page(page: Path, name: str = "docs") -> tuple[list[str], list[str]]:
    """Run the python blocks of ``page``; (expected, printed): the non-empty outputs, in order."""
    run = run_blocks(page, name)
    return run.expected, run.printed


def run_blocks(page: Path, name: str = "docs") -> PageRun:
    """Run the python blocks of ``page`` in one namespace named ``name``."""
    from apflow.core.registry import default_registry

    namespace: dict = {"__name__": name}
    run = PageRun()
    path, modules, environ = list(sys.path), set(sys.modules), dict(os.environ)
    sys.path.insert(0, os.getcwd())
    try:
        with default_registry.temporarily():
            for file, kind, code, needs_model in blocks(page):
                if kind != "python":
                    run.expected.append(code.strip())
                elif file:
                    Path(file).parent.mkdir(parents=True, exist_ok=True)
                    Path(file).write_text(code)
                else:
                    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
                    compiled = compile(code, str(page), "exec", flags=flags)
                    if needs_model:
                        continue
                    out = io.StringIO()
                    try:
                        with contextlib.redirect_stdout(out):
                            outcome = eval(compiled, namespace)
                            if inspect.iscoroutine(outcome):
                                asyncio.run(outcome)
                    finally:
                        run.output += out.getvalue()
                    run.ran += 1
                    if out.getvalue().strip():
                        run.printed.append(out.getvalue().strip())
    finally:
        sys.path[:] = path
        for module in set(sys.modules) - modules:
            if getattr(sys.modules[module], "__file__", "") and os.getcwd() in str(
                sys.modules[module].__file__
            ):
                del sys.modules[module]
        os.environ.clear()
        os.environ.update(environ)
    return run
