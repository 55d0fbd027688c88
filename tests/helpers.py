"""Helpers shared by the test packages: a slow executor and a free local port.

Plain Python (no fixtures), so a test's subprocess can import it too.
"""

from __future__ import annotations

import asyncio
import socket

from apflow.core.executor import BaseTask


class NapExecutor(BaseTask):
    """Sleeps, so a test can watch or cancel a tree that is still running."""

    id = "nap_executor"
    description = "sleep for `seconds`, then return `value`"
    input_schema = {
        "type": "object",
        "properties": {"seconds": {"type": "number"}, "value": {}},
    }

    async def execute(self, inputs):
        await asyncio.sleep(inputs.get("seconds", 30))
        return {"status": "completed", "result": inputs.get("value", "rested")}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
