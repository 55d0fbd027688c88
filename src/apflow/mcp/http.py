"""Serving over streamable HTTP: loopback by default, bearer tokens for anything else.

The token check is a plain ASGI wrapper around the SDK's app, so it sees every HTTP
request (POST, GET stream, DELETE) before the MCP layer does. Each token maps to a user
id; the wrapper puts it in the request's ASGI scope, where the tools read it (see
:func:`apflow.mcp.server.caller`), so each token sees and acts on only its own trees.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from pathlib import Path
from typing import Any

from apflow.core.errors import ConfigError
from apflow.core.settings import ENV_NAMES, revealed, settings

TOKEN_ENV = ENV_NAMES["mcp_token"]
TOKENS_ENV = ENV_NAMES["mcp_tokens"]
TOKENS_FILE_ENV = ENV_NAMES["mcp_tokens_file"]
MIN_TOKEN_LENGTH = 16
#: The user id of the single APFLOW_MCP_TOKEN.
TOKEN_USER = "mcp"
#: Where the wrapper leaves the caller's user id in the ASGI scope.
USER_SCOPE_KEY = "apflow.user_id"
_MAX_USER_ID = 255


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_tokens(text: str, source: str) -> dict[str, str]:
    """``user:token`` entries (one per line or comma-separated; ``#`` comments) as
    ``{token: user_id}``. Errors name the entry by number, never the token."""
    users: dict[str, str] = {}
    entries = [e.strip() for line in text.splitlines() for e in line.split("#", 1)[0].split(",")]
    for number, entry in enumerate((e for e in entries if e), start=1):
        user, sep, token = (part.strip() for part in entry.partition(":"))
        where = f"{source}, entry {number}"
        if not sep or not user or not token:
            raise ConfigError(f"{where} is not user:token", hint="write one user_id:token per line")
        if len(user) > _MAX_USER_ID:
            raise ConfigError(f"{where}: the user id is longer than {_MAX_USER_ID} characters")
        if len(token) < MIN_TOKEN_LENGTH:
            raise ConfigError(
                f"{where}: the token of {user!r} is shorter than {MIN_TOKEN_LENGTH} characters",
                hint="use `python -c 'import secrets; print(secrets.token_urlsafe())'`",
            )
        if token in users:
            raise ConfigError(
                f"{where}: the token of {user!r} is also the token of {users[token]!r}",
                hint="give every user a token of their own",
            )
        users[token] = user
    return users


def tokens_from_environment(tokens_file: str | None = None) -> dict[str, str]:
    """Every configured token and its user: ``tokens_file`` (or APFLOW_MCP_TOKENS_FILE),
    APFLOW_MCP_TOKENS (``alice:tok1,bob:tok2``) and APFLOW_MCP_TOKEN (user ``mcp``)."""
    users: dict[str, str] = {}
    configured = settings()
    path = tokens_file or configured.mcp_tokens_file
    if path:
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"cannot read the tokens file {path}: {getattr(exc, 'strerror', None) or exc}",
                hint="write one user_id:token per line in a UTF-8 file only you can read",
            ) from None
        users.update(parse_tokens(text, f"tokens file {path}"))
    for token, user in parse_tokens(revealed(configured.mcp_tokens) or "", TOKENS_ENV).items():
        if users.get(token, user) != user:
            raise ConfigError(
                f"{TOKENS_ENV} gives {user!r} the token of {users[token]!r}",
                hint="give every user a token of their own",
            )
        users[token] = user
    single = revealed(configured.mcp_token)
    if single:
        if len(single) < MIN_TOKEN_LENGTH:
            raise ConfigError(
                f"{TOKEN_ENV} must be at least {MIN_TOKEN_LENGTH} characters",
                hint=f"set {TOKEN_ENV} to a long random secret, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe())'`",
            )
        users.setdefault(single, TOKEN_USER)
    return users


class BearerTokenMiddleware:
    """Refuse every HTTP request without ``Authorization: Bearer <a known token>`` (401);
    pass the others on with the token's user id in the scope."""

    def __init__(self, app: Any, tokens: dict[str, str]) -> None:
        self.app = app
        self._expected = [(f"Bearer {t}".encode(), user) for t, user in tokens.items()]

    def user_of(self, header: bytes) -> str | None:
        found = None
        for expected, user in self._expected:  # every token compared: no timing hint
            if hmac.compare_digest(header, expected):
                found = user
        return found

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        user = self.user_of(dict(scope.get("headers") or []).get(b"authorization", b""))
        if user is not None:
            await self.app({**scope, USER_SCOPE_KEY: user}, receive, send)
            return
        body = json.dumps(
            {"error": "unauthorized", "hint": "send Authorization: Bearer <your token>"}
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


def check_bind(host: str, *, allow_remote: bool, tokens: dict[str, str]) -> None:
    """Refuse a non-loopback bind without --allow-remote, and --allow-remote without a token."""
    if not is_loopback(host) and not allow_remote:
        raise ConfigError(
            f"refusing to serve MCP on {host}: only loopback addresses are allowed by default",
            hint=f"pass --allow-remote and set {TOKEN_ENV} (one user) or {TOKENS_FILE_ENV} "
            "(a user_id:token per line) to serve remotely",
        )
    if allow_remote and not tokens:
        raise ConfigError(
            f"--allow-remote needs a bearer token: {TOKENS_FILE_ENV} or {TOKENS_ENV} "
            f"(user_id:token entries) or {TOKEN_ENV} (one token, at least "
            f"{MIN_TOKEN_LENGTH} characters)",
            hint=f"set {TOKEN_ENV} to a long random secret, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe())'`",
        )


def http_app(
    server: Any,
    *,
    host: str,
    allow_remote: bool,
    token: str | None = None,
    tokens: dict[str, str] | None = None,
) -> Any:
    """The ASGI app to serve; with tokens, every request must carry one of them.

    ``tokens`` maps each token to its user id; ``token`` is one token for user ``mcp``.
    ``allow_remote`` (a non-loopback bind) requires at least one token.
    """
    users = dict(tokens or {})
    if token:
        users.setdefault(token, TOKEN_USER)
    check_bind(host, allow_remote=allow_remote, tokens=users)
    app = server.streamable_http_app(host=host)
    return BearerTokenMiddleware(app, users) if users else app


async def serve_http(
    server: Any, *, host: str, port: int, allow_remote: bool, tokens: dict[str, str]
) -> None:
    """Run uvicorn until interrupted."""
    import uvicorn

    app = http_app(server, host=host, allow_remote=allow_remote, tokens=tokens)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()
