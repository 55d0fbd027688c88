"""``apflow serve mcp``: expose apflow to agents over MCP (stdio or streamable HTTP)."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated

import anyio
import typer

from apflow.cli.app import app
from apflow.cli.common import console, handle_errors, state

serve_app = typer.Typer(help="Serve apflow to other programs.", no_args_is_help=True)
app.add_typer(serve_app, name="serve")


class Transport(StrEnum):
    stdio = "stdio"
    http = "http"


@serve_app.command("mcp")
@handle_errors
def serve_mcp(
    transport: Annotated[
        Transport, typer.Option("--transport", help="stdio (for local clients) or http")
    ] = Transport.stdio,
    host: Annotated[str, typer.Option("--host", help="HTTP bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="HTTP port")] = 8765,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a non-loopback bind; every request then needs APFLOW_MCP_TOKEN",
        ),
    ] = False,
    model: Annotated[
        str | None, typer.Option("--model", help="Model for generate_task_tree (APFLOW_MODEL)")
    ] = None,
) -> None:
    """Run the MCP server (tools: generate/validate/run/get/cancel trees, list executors)."""
    from apflow.core.config import database_url
    from apflow.mcp import build_server
    from apflow.mcp.http import TOKEN_ENV, check_bind, serve_http

    database_url(state.db)  # a bad --db / APFLOW_DATABASE_URL stops the server before it starts
    server = build_server(state.db, model=model)
    if transport is Transport.stdio:
        # stdout is the protocol channel: nothing else may be printed there.
        anyio.run(server.run_stdio_async)
        return
    token = os.environ.get(TOKEN_ENV)
    check_bind(host, allow_remote=allow_remote, token=token)
    auth = "bearer token required" if allow_remote else "loopback only, no token"
    console.print(f"apflow MCP server on http://{host}:{port}/mcp ({auth}); Ctrl-C stops it")
    try:
        anyio.run(
            lambda: serve_http(server, host=host, port=port, allow_remote=allow_remote, token=token)
        )
    except KeyboardInterrupt:
        console.print("stopped")
