"""Each bearer token is a user who sees and acts on only their own trees (issue 15, item 10),
over real HTTP with the SDK's client."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

import httpx2
import pytest
import uvicorn
from mcp.client.streamable_http import streamable_http_client
from typer.testing import CliRunner

from apflow.cli.app import app
from apflow.core.errors import ConfigError
from apflow.mcp.http import http_app, parse_tokens, tokens_from_environment
from mcp import Client
from tests.helpers import free_port
from tests.mcp.conftest import TREE, wait_for_port

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdefgh"


@contextlib.asynccontextmanager
async def serving(server, **kwargs):
    port = free_port()
    web = uvicorn.Server(
        uvicorn.Config(
            http_app(server, host="127.0.0.1", **kwargs),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    task = asyncio.create_task(web.serve())
    try:
        await wait_for_port(port)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        web.should_exit = True
        await asyncio.wait_for(task, 10)


def as_user(url: str, token: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
    return Client(streamable_http_client(url, http_client=http))


async def test_each_token_sees_and_acts_on_only_its_own_trees(server, db_url):
    tokens = {ALICE: "alice", BOB: "bob"}
    async with serving(server, allow_remote=True, tokens=tokens) as url:
        async with as_user(url, ALICE) as alice, as_user(url, BOB) as bob:
            ran = await alice.call_tool("run_task_tree", {"tasks": TREE})
            assert not ran.is_error, ran.content
            root_id = ran.structured_content["root_id"]
            mine = await alice.call_tool("get_task_tree", {"root_id": root_id})
            assert mine.structured_content["result"] == {"n": 3}
            stolen = await bob.call_tool("get_task_tree", {"root_id": root_id})
            assert stolen.is_error and f"no task with id {root_id!r}" in stolen.content[0].text
            cancelled = await bob.call_tool("cancel_task_tree", {"root_id": root_id})
            assert cancelled.is_error and "no task with id" in cancelled.content[0].text
            with pytest.raises(Exception, match="no task with id"):
                await bob.read_resource(f"apflow://trees/{root_id}")
            own = await bob.call_tool("run_task_tree", {"tasks": TREE, "wait": False})
            bob_root = own.structured_content["root_id"]
            await server.apflow_service.wait(bob_root)
            hidden = await alice.call_tool("get_task_tree", {"root_id": bob_root})
            assert hidden.is_error
            resource = await alice.read_resource(f"apflow://trees/{root_id}")
            assert root_id in resource.contents[0].text
    # The trees are stored under the users' ids; the local user (no token) sees both.
    path = db_url.split("///", 1)[1]
    with sqlite3.connect(path) as conn:
        owners = dict(conn.execute("select id, user_id from tasks where parent_id is null"))
    assert owners == {root_id: "alice", bob_root: "bob"}
    async with Client(server) as local:
        for rid in (root_id, bob_root):
            seen = await local.call_tool("get_task_tree", {"root_id": rid})
            assert not seen.is_error


async def test_a_tree_stored_without_a_user_is_not_served_to_a_token(server):
    """Trees of the local user (the CLI, stdio, the Python API) have no user id."""
    root_id = (await server.apflow_service.run(TREE)).root_id
    async with serving(server, allow_remote=True, token=ALICE) as url:
        async with as_user(url, ALICE) as alice:
            refused = await alice.call_tool("get_task_tree", {"root_id": root_id})
    assert refused.is_error and "no task with id" in refused.content[0].text


def test_tokens_file_and_variables(tmp_path, monkeypatch):
    for name in ("APFLOW_MCP_TOKEN", "APFLOW_MCP_TOKENS", "APFLOW_MCP_TOKENS_FILE"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "tokens"
    path.write_text(f"# user:token\nalice:{ALICE}\n\nbob: {BOB}  # laptop\n")
    monkeypatch.setenv("APFLOW_MCP_TOKENS", "carol:carol-token-0123456789ab")
    monkeypatch.setenv("APFLOW_MCP_TOKEN", "single-token-0123456789abc")
    users = tokens_from_environment(str(path))
    assert users == {
        ALICE: "alice",
        BOB: "bob",
        "carol-token-0123456789ab": "carol",
        "single-token-0123456789abc": "mcp",
    }
    bad = {
        "alice": "is not user:token",
        "alice:short": "shorter than 16",
        f"alice:{ALICE}\nbob:{ALICE}": "also the token of 'alice'",
        f":{ALICE}": "is not user:token",
    }
    for text, message in bad.items():
        with pytest.raises(ConfigError, match=message) as err:
            parse_tokens(text, "tokens file t")
        assert ALICE not in str(err.value)  # a token is never echoed


def test_serve_with_a_bad_tokens_file_is_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("APFLOW_MCP_TOKEN", raising=False)
    path = tmp_path / "tokens"
    path.write_text("alice:short\n")
    result = CliRunner().invoke(
        app,
        ["serve", "mcp", "--transport", "http", "--allow-remote", "--tokens", str(path)],
    )
    assert result.exit_code == 1
    assert "entry 1: the token of 'alice' is shorter than 16 characters" in result.stderr
    missing = CliRunner().invoke(
        app, ["serve", "mcp", "--transport", "http", "--tokens", str(tmp_path / "nope")]
    )
    assert missing.exit_code == 1 and "cannot read the tokens file" in missing.stderr
