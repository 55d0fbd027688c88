"""system_info_executor reports real facts about this machine."""

from __future__ import annotations

import os
import platform

from apflow.executors.system import SystemInfoExecutor


async def test_all_sections_by_default():
    out = await SystemInfoExecutor().execute({})
    assert out["status"] == "completed"
    facts = out["result"]
    assert set(facts) == {"cpu", "memory", "disk", "python", "os"}
    assert facts["cpu"]["logical_cores"] == os.cpu_count()
    assert 0 < facts["memory"]["available_bytes"] <= facts["memory"]["total_bytes"]
    assert facts["disk"]["total_bytes"] > 0
    assert facts["python"]["version"] == platform.python_version()
    assert facts["os"]["system"] == platform.system()


async def test_selected_sections_and_disk_path(tmp_path):
    out = await SystemInfoExecutor().execute({"sections": ["disk"], "disk_path": str(tmp_path)})
    assert list(out["result"]) == ["disk"]
    assert out["result"]["disk"]["path"] == str(tmp_path)


async def test_invalid_inputs():
    out = await SystemInfoExecutor().execute({"sections": ["gpu"]})
    assert out["error_type"] == "validation_error" and "sections/0" in out["error"]
    out = await SystemInfoExecutor().execute({"sections": ["disk"], "disk_path": "/nope/x"})
    assert out["error_type"] == "validation_error"
