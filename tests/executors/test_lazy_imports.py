"""Registering the built-in executors must not import their heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("httpx", "httpx2", "mcp", "selectolax", "litellm", "psutil", "apflow.generator")


def test_importing_the_executors_loads_no_heavy_library():
    code = "import json, sys, apflow, apflow.executors; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert "apflow.executors.http" in loaded and "apflow.executors.mcp_tool" in loaded
    heavy = [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY)]
    assert not heavy, heavy
