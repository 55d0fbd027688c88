"""Serving over streamable HTTP: loopback by default, a bearer token for anything else.

The token check is a plain ASGI wrapper around the SDK's app, so it sees every HTTP
request (POST, GET stream, DELETE) before the MCP layer does.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any

from apflow.core.errors import ConfigError

TOKEN_ENV = "APFLOW_MCP_TOKEN"
MIN_TOKEN_LENGTH = 16


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BearerTokenMiddleware:
    """Refuse every HTTP request without ``Authorization: Bearer <token>`` (401)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {"error": "unauthorized", "hint": f"send Authorization: Bearer ${TOKEN_ENV}"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="apflow"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def check_bind(host: str, *, allow_remote: bool, token: str | None) -> None:
    """Refuse a non-loopback bind without --allow-remote, and --allow-remote without a token."""
    if not is_loopback(host) and not allow_remote:
        raise ConfigError(
            f"refusing to serve MCP on {host}: only loopback addresses are allowed by default",
            hint=f"pass --allow-remote and set {TOKEN_ENV} to a secret token to serve remotely",
        )
    if allow_remote and (not token or len(token) < MIN_TOKEN_LENGTH):
        raise ConfigError(
            f"--allow-remote needs a bearer token in {TOKEN_ENV} "
            f"(at least {MIN_TOKEN_LENGTH} characters)",
            hint=f"set {TOKEN_ENV} to a long random secret, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe())'`",
        )


def http_app(server: Any, *, host: str, allow_remote: bool, token: str | None) -> Any:
    """The ASGI app to serve; with ``allow_remote`` every request must carry the token."""
    check_bind(host, allow_remote=allow_remote, token=token)
    app = server.streamable_http_app(host=host)
    return BearerTokenMiddleware(app, token) if allow_remote and token else app


async def serve_http(
    server: Any, *, host: str, port: int, allow_remote: bool, token: str | None
) -> None:
    """Run uvicorn until interrupted."""
    import uvicorn

    app = http_app(server, host=host, allow_remote=allow_remote, token=token)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()
