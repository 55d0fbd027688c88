"""The MCP server's run tool honours APFLOW_DASK_ADDRESS like the CLI and the Python API."""

from __future__ import annotations

import pytest

from tests.conftest import ran_on
from tests.mcp.conftest import TREE

pytest.importorskip("distributed")


async def test_run_tool_sends_tasks_to_the_cluster_named_in_the_environment(
    service, dask_cluster, monkeypatch
):
    monkeypatch.setenv("APFLOW_DASK_ADDRESS", dask_cluster.scheduler_address)
    out = await service.run(TREE)
    assert out.status == "completed" and out.result == {"n": 3}
    assert ran_on(dask_cluster, [task.id for task in out.tasks])
