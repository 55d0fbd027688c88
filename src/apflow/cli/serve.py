"""``apflow serve mcp``: expose apflow to agents over MCP (stdio or streamable HTTP)."""

from __future__ import annotations

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
    tokens_file: Annotated[
        str | None,
        typer.Option(
            "--tokens",
            help="File of user_id:token lines (APFLOW_MCP_TOKENS_FILE); each token sees only "
            "its own trees",
        ),
    ] = None,
) -> None:
    """Run the MCP server (tools: generate/validate/run/get/cancel trees, list executors)."""
    from apflow.core.database_url import database_url
    from apflow.mcp import build_server
    from apflow.mcp.http import check_bind, serve_http, tokens_from_environment

    database_url(state.db)  # a bad --db / APFLOW_DATABASE_URL stops the server before it starts
    server = build_server(state.db, model=model)
    if transport is Transport.stdio:
        # stdout is the protocol channel: nothing else may be printed there.
        anyio.run(server.run_stdio_async)
        return
    tokens = tokens_from_environment(tokens_file)
    check_bind(host, allow_remote=allow_remote, tokens=tokens)
    users = len(set(tokens.values()))
    auth = (
        f"bearer token required; {users} user{'s' if users != 1 else ''}, each sees only "
        "their own trees"
        if tokens
        else "loopback only, no token"
    )
    console.print(f"apflow MCP server on http://{host}:{port}/mcp ({auth}); Ctrl-C stops it")
    try:
        anyio.run(
            lambda: serve_http(
                server, host=host, port=port, allow_remote=allow_remote, tokens=tokens
            )
        )
    except KeyboardInterrupt:
        console.print("stopped")


@serve_app.command("ui")
@handle_errors
def serve_ui(
    host: Annotated[str, typer.Option("--host", help="Bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port")] = 8766,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a non-loopback bind; every API request then needs APFLOW_UI_TOKEN "
            "(or APFLOW_MCP_TOKEN)",
        ),
    ] = False,
    model: Annotated[
        str | None, typer.Option("--model", help="Default model for Describe (APFLOW_MODEL)")
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the console in the default browser")
    ] = False,
) -> None:
    """Run the web console: describe, watch and steer trees in a browser."""
    from apflow.service import Service
    from apflow.ui import create_app
    from apflow.ui.security import check_bind, configured_token, ui_token

    token = configured_token() if allow_remote else ui_token()
    check_bind(host, allow_remote=allow_remote, token=token)
    app = create_app(Service(state.db, model=model), token=token, allow_remote=allow_remote)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    auth = "token required" if token else "loopback only, no token"
    console.print(f"apflow console on {url} ({auth}); Ctrl-C stops it")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    from apflow.ui.server import console_server

    try:
        anyio.run(console_server(app, host=host, port=port).serve)
    except KeyboardInterrupt:
        console.print("stopped")
