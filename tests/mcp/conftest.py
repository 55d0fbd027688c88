"""MCP test fixtures: a server on a per-test database, with an extra slow executor."""

from __future__ import annotations

import asyncio
import socket

import pytest

from apflow.core.executor import BaseTask
from apflow.core.registry import default_registry
from apflow.mcp import build_server
from apflow.service import Service

TREE = [
    {"id": "report", "schemas": {"method": "aggregate_results_executor"}, "dependencies": ["n"]},
    {
        "id": "n",
        "parent_id": "report",
        "schemas": {"method": "transform_executor"},
        "inputs": {"data": [1, 2, 3], "operations": [{"op": "length"}]},
    },
]


class NapExecutor(BaseTask):
    """Sleeps, so a test can watch or cancel a tree that is still running."""

    id = "nap_executor"
    description = "sleep for `seconds`"
    input_schema = {"type": "object", "properties": {"seconds": {"type": "number"}}}

    async def execute(self, inputs):
        await asyncio.sleep(inputs.get("seconds", 30))
        return {"status": "completed", "result": "rested"}


@pytest.fixture
def registry():
    reg = default_registry.copy()
    reg.register(NapExecutor)
    return reg


@pytest.fixture
def service(db_url, registry):
    return Service(db_url, registry=registry)


@pytest.fixture
def server(service):
    return build_server(service=service)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)
