"""A small real MCP server for the mcp_tool_executor tests.

``python mcp_server.py`` serves over stdio; ``python mcp_server.py http PORT`` serves
streamable HTTP on 127.0.0.1:PORT at /mcp.
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

server = MCPServer("apflow-test")


class Sum(BaseModel):
    total: int
    terms: list[int]


@server.tool()
def add(a: int, b: int) -> Sum:
    """Add two integers."""
    return Sum(total=a + b, terms=[a, b])


@server.tool(structured_output=False)
def greet(name: str) -> str:
    """Say hello."""
    return f"Hello, {name}!"


@server.tool()
def explode(message: str) -> str:
    """Always fails, with the given message."""
    raise ToolError(message)


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep, then answer."""
    await asyncio.sleep(seconds)
    return "done"


@server.tool(structured_output=False)
def read_env(name: str) -> str:
    """The value of an environment variable in the server process."""
    return os.environ.get(name, "<unset>")


def require_token(app, token: str):
    """ASGI wrapper: /private/mcp is /mcp behind ``Authorization: Bearer <token>``."""

    async def guarded(scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith("/private"):
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization") != f"Bearer {token}".encode():
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"unauthorized"})
                return
            scope = {**scope, "path": scope["path"][len("/private") :]}
        await app(scope, receive, send)

    return guarded


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        import uvicorn

        app = require_token(server.streamable_http_app(), "s3cret")
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="error")
    else:
        server.run()
