"""The README's first two commands are `make demo` and `make test`, and the Makefile offers both.

A new user types exactly what the README shows; this fails when the two drift apart.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    """The commands of the README's first ```bash block (comments stripped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no ```bash block"
    lines = (line.split("#", 1)[0].strip() for line in block.group(1).splitlines())
    return [line for line in lines if line]


def _makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets: set[str] = set()
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9_.\- ]+):(?!=)", line)
        if m:
            targets.update(m.group(1).split())
    return targets


def test_readme_starts_with_make_demo_and_make_test():
    assert _readme_commands()[:2] == ["make demo", "make test"]


def test_each_readme_make_command_is_a_makefile_target():
    targets = _makefile_targets()
    for command in _readme_commands()[:2]:
        target = command.split()[1]
        assert target in targets, f"README says `{command}` but the Makefile has no {target}:"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("target", ["demo", "test"])
def test_make_knows_how_to_build_the_readme_targets(target, tmp_path):
    """`make -n` (print, run nothing) in an empty venv dir: the recipe goes through .venv."""
    venv = tmp_path / "venv"
    proc = subprocess.run(
        ["make", "-n", "-C", str(ROOT), target, f"VENV={venv}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"-m venv {venv}" in proc.stdout  # the venv is created first
    assert f"{venv}/bin/python -m pip install" in proc.stdout  # and installed into
    assert " pip install --user" not in proc.stdout and "sudo" not in proc.stdout
