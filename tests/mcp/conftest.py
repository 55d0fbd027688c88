"""MCP test fixtures: a server on a per-test database, with an extra slow executor."""

from __future__ import annotations

import asyncio

import pytest

from apflow.core.registry import default_registry
from apflow.mcp import build_server
from apflow.service import Service
from tests.helpers import NapExecutor

TREE = [
    {"id": "report", "schemas": {"method": "aggregate_results_executor"}, "dependencies": ["n"]},
    {
        "id": "n",
        "parent_id": "report",
        "schemas": {"method": "transform_executor"},
        "inputs": {"data": [1, 2, 3], "operations": [{"op": "length"}]},
    },
]


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
