"""mcp_tool_executor against a real MCP server (tests/executors/mcp_server.py), stdio and HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from apflow.executors.mcp_tool import McpToolExecutor
from tests.helpers import free_port

SERVER = str(Path(__file__).with_name("mcp_server.py"))
PY = sys.executable


async def run(**inputs):
    return await McpToolExecutor().execute(inputs)


@pytest.fixture
def stdio(monkeypatch):
    """Inputs that start the test server over stdio (allow-listed)."""
    monkeypatch.setenv("APFLOW_MCP_ALLOWLIST", PY)
    return {"command": PY, "args": [SERVER]}


@pytest.fixture(scope="module")
def http_url():
    """The test server over streamable HTTP on 127.0.0.1 (one process for the module)."""
    port = free_port()
    proc = subprocess.Popen([PY, SERVER, "http", str(port)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(timeout=10)


async def test_stdio_text_tool_gets_its_env(stdio):
    out = await run(
        tool="read_env", arguments={"name": "APFLOW_T"}, env={"APFLOW_T": "v1"}, **stdio
    )
    assert out["status"] == "completed", out
    assert out["result"] == {"structured": None, "text": "v1", "other": []}


async def test_stdio_timeout(stdio):
    out = await run(tool="slow", arguments={"seconds": 30}, timeout=2, **stdio)
    assert out["status"] == "failed" and out["error_type"] == "timeout"


async def test_stdio_command_must_be_allow_listed(monkeypatch):
    monkeypatch.delenv("APFLOW_MCP_ALLOWLIST", raising=False)
    out = await run(tool="add", command=PY, args=[SERVER])
    assert out["error_type"] == "disallowed" and "APFLOW_MCP_ALLOWLIST" in out["error"]


async def test_stdio_env_cannot_change_which_code_runs(stdio):
    out = await run(tool="add", env={"LD_PRELOAD": "/tmp/x.so"}, **stdio)
    assert out["error_type"] == "disallowed" and "LD_PRELOAD" in out["error"]


async def test_server_that_cannot_start_fails(stdio, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import sys; sys.stderr.write('cannot start: missing config'); sys.exit(1)")
    out = await run(tool="add", command=PY, args=[str(broken)], timeout=10)
    assert out["status"] == "failed" and out["error_type"] in {"mcp_error", "timeout"}
    assert "missing config" in out["error"]


async def test_http_tool_returns_structured_content_and_text(http_url, allow_private):
    out = await run(url=http_url, tool="add", arguments={"a": 2, "b": 3})
    assert out["status"] == "completed", out
    assert out["result"]["structured"] == {"total": 5, "terms": [2, 3]}
    assert '"total": 5' in out["result"]["text"]
    out = await run(url=http_url, tool="greet", arguments={"name": "Ada"})
    assert out["result"]["text"] == "Hello, Ada!"


async def test_http_tool_error_and_unknown_tool_fail(http_url, allow_private):
    out = await run(url=http_url, tool="explode", arguments={"message": "bad input"})
    assert out["error_type"] == "tool_error" and "bad input" in out["error"]
    out = await run(url=http_url, tool="nope")
    assert out["status"] == "failed" and "nope" in out["error"]


async def test_http_headers_reach_the_server(http_url, allow_private):
    private = http_url.replace("/mcp", "/private/mcp")
    out = await run(
        url=private,
        tool="greet",
        arguments={"name": "x"},
        headers={"Authorization": "Bearer s3cret"},
    )
    assert out["status"] == "completed", out
    out = await run(url=private, tool="greet", arguments={"name": "x"}, timeout=10)
    assert out["status"] == "failed" and "s3cret" not in out["error"]
    assert "HTTP 401" in out["error"], out


async def test_http_timeout(http_url, allow_private):
    out = await run(url=http_url, tool="slow", arguments={"seconds": 10}, timeout=0.5)
    assert out["error_type"] == "timeout"


async def test_http_url_is_ssrf_checked(http_url, deny_private):
    out = await run(url=http_url, tool="greet", arguments={"name": "x"})
    assert out["error_type"] == "disallowed"
    out = await run(url="http://169.254.169.254/mcp", tool="greet")
    assert out["error_type"] == "disallowed"


async def test_http_server_down_fails(closed_port_url, allow_private):
    out = await run(url=closed_port_url + "mcp", tool="greet", timeout=5)
    assert out["status"] == "failed" and out["error_type"] in {"mcp_error", "connect_error"}


@pytest.mark.parametrize(
    "inputs, fragment",
    [
        ({}, "tool"),
        ({"tool": ""}, "tool"),
        ({"tool": "x", "arguments": [1]}, "arguments"),
        ({"tool": "x", "args": "a b", "command": "x"}, "args"),
        ({"tool": "x"}, "exactly one"),
        ({"tool": "x", "url": "http://a", "command": "b"}, "exactly one"),
    ],
)
async def test_invalid_inputs(inputs, fragment):
    out = await run(**inputs)
    assert out["error_type"] == "validation_error" and fragment in out["error"]


@pytest.mark.usefixtures("loopback_one_is_public")
async def test_http_goes_through_the_address_pinning_transport(http_url):
    out = await run(url=http_url, tool="greet", arguments={"name": "pinned"})
    assert out["result"]["text"] == "Hello, pinned!", out
