"""system_info_executor: facts about the machine a tree runs on (CPU, memory, disk, Python, OS).

psutil is imported inside ``execute`` so ``import apflow`` does not pay for it.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
from typing import Any

from apflow.core.executor import BaseTask, completed, failed

SECTIONS = ["cpu", "memory", "disk", "python", "os"]


class SystemInfoExecutor(BaseTask):
    id = "system_info_executor"
    effects = "read"
    name = "System info"
    description = "Report facts about this machine: CPU, memory, disk, Python and operating system."
    input_schema = {
        "type": "object",
        "properties": {
            "sections": {
                "type": "array",
                "items": {"enum": SECTIONS},
                "uniqueItems": True,
                "description": "which facts to report (default all): " + ", ".join(SECTIONS),
            },
            "disk_path": {
                "type": "string",
                "default": "/",
                "description": "path whose filesystem the disk section describes",
            },
        },
    }
    output_schema = {
        "type": "object",
        "properties": {name: {"type": "object"} for name in SECTIONS},
    }

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        invalid = self.validate_inputs(inputs)
        if invalid:
            return invalid
        wanted = inputs.get("sections") or SECTIONS
        disk_path = inputs.get("disk_path", os.path.abspath(os.sep))
        if "disk" in wanted and not os.path.exists(disk_path):
            return failed(f"disk_path {disk_path!r} does not exist", "validation_error")
        facts = await asyncio.to_thread(collect, wanted, disk_path)
        return completed(facts)


def collect(sections: list[str], disk_path: str) -> dict[str, Any]:
    """The requested sections; blocking (CPU percent samples for 0.1 s), so run it in a thread."""
    import psutil

    out: dict[str, Any] = {}
    if "cpu" in sections:
        load = os.getloadavg() if hasattr(os, "getloadavg") else None
        out["cpu"] = {
            "logical_cores": psutil.cpu_count(logical=True),
            "physical_cores": psutil.cpu_count(logical=False),
            "percent": psutil.cpu_percent(interval=0.1),
            "load_average": list(load) if load else None,
        }
    if "memory" in sections:
        mem = psutil.virtual_memory()
        out["memory"] = {
            "total_bytes": mem.total,
            "available_bytes": mem.available,
            "used_bytes": mem.used,
            "percent": mem.percent,
        }
    if "disk" in sections:
        disk = psutil.disk_usage(disk_path)
        out["disk"] = {
            "path": disk_path,
            "total_bytes": disk.total,
            "used_bytes": disk.used,
            "free_bytes": disk.free,
            "percent": disk.percent,
        }
    if "python" in sections:
        out["python"] = {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        }
    if "os" in sections:
        out["os"] = {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "hostname": platform.node(),
            "boot_time": psutil.boot_time(),
        }
    return out
