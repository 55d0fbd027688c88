"""The server as clients reach it: over stdio as a subprocess, and over streamable HTTP."""

import asyncio
import json
import os
import sys

import httpx
import httpx2
import pytest
import uvicorn
from mcp.client.streamable_http import streamable_http_client
from typer.testing import CliRunner

from apflow.cli.app import app
from apflow.mcp.http import TOKEN_ENV, http_app
from mcp import Client, StdioServerParameters
from tests.helpers import free_port
from tests.mcp.conftest import TREE, wait_for_port

TOKEN = "test-token-0123456789abcdef"


async def test_stdio_subprocess_lists_tools_generates_with_progress_and_runs(db_url, tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([TREE]))
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "apflow", "--db", db_url, "serve", "mcp"],
        env={**os.environ, "APFLOW_MODEL": f"scripted:{answers}"},
    )
    progress = []

    async def on_progress(done, total, message):
        progress.append(message)

    async with Client(params, read_timeout_seconds=60) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        generated = await client.call_tool(
            "generate_task_tree", {"requirement": "count"}, progress_callback=on_progress
        )
        result = await client.call_tool("run_task_tree", {"tasks": TREE})
    assert "run_task_tree" in names and "generate_task_tree" in names
    assert not generated.is_error, generated.content
    assert [t["id"] for t in generated.structured_content["tasks"]] == ["report", "n"]
    assert any(m.startswith("generate:") for m in progress)
    assert not result.is_error, result.content
    assert result.structured_content["result"] == {"n": 3}


async def test_http_on_loopback_needs_no_token(server):
    port = free_port()
    app = http_app(server, host="127.0.0.1", allow_remote=False, token=None)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    web = uvicorn.Server(config)
    serving = asyncio.create_task(web.serve())
    try:
        await wait_for_port(port)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            listed = await client.call_tool("list_executors", {})
            ran = await client.call_tool("run_task_tree", {"tasks": TREE})
    finally:
        web.should_exit = True
        await asyncio.wait_for(serving, 10)
    assert any(e["id"] == "transform_executor" for e in listed.structured_content["executors"])
    assert ran.structured_content["status"] == "completed"


async def test_http_with_allow_remote_refuses_requests_without_the_bearer_token(db_url):
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "apflow",
        "--db",
        db_url,
        "serve",
        "mcp",
        "--transport",
        "http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--allow-remote",
        env={**os.environ, TOKEN_ENV: TOKEN},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        await wait_for_port(port)
        async with httpx.AsyncClient() as http:
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
            refused = await http.post(url, json=body)
            wrong = await http.post(url, json=body, headers={"Authorization": "Bearer nope"})
        assert refused.status_code == 401 and wrong.status_code == 401
        assert "Authorization: Bearer" in refused.json()["hint"]
        authorized = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"})
        async with Client(streamable_http_client(url, http_client=authorized)) as client:
            names = {t.name for t in (await client.list_tools()).tools}
        assert "validate_task_tree" in names
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 15)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--host", "0.0.0.0"], {}, "only loopback addresses are allowed"),
        (["--host", "127.0.0.1", "--allow-remote"], {TOKEN_ENV: ""}, "needs a bearer token"),
        (["--host", "10.1.2.3", "--allow-remote"], {TOKEN_ENV: "short"}, "at least 16"),
    ],
)
def test_http_refuses_to_start_unsafely(args, env, message, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(
        app, ["serve", "mcp", "--transport", "http", *args, "--port", str(free_port())]
    )
    assert result.exit_code == 1
    assert message in result.stderr
