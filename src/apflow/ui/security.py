"""Who may use the console: loopback by default, a bearer token for anything else.

Rules (docs/ui.md, "Security"):
- Bound to a loopback address unless ``--allow-remote``; that needs a token of 16+
  characters in ``APFLOW_UI_TOKEN`` (or ``APFLOW_MCP_TOKEN``).
- With a token, every ``/api`` request needs ``Authorization: Bearer <token>``: reads
  too, since trees hold their inputs and results. The page itself holds no data.
- Without ``--allow-remote``, only loopback ``Host`` names are answered, so a web page
  cannot reach the console through DNS rebinding.
- A state-changing request (anything but GET/HEAD) must be JSON and, when the browser
  names an ``Origin``, come from the console's own origin: another site can neither
  post a form to it nor script a cross-origin call (no CORS is ever granted).
- Every response forbids inline scripts and framing (CSP), so untrusted text that
  slipped into markup could still not run.
"""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import urlsplit

from apflow.core.errors import ConfigError
from apflow.core.settings import ENV_NAMES, revealed, settings
from apflow.mcp.http import MIN_TOKEN_LENGTH, is_loopback
from apflow.mcp.http import TOKEN_ENV as MCP_TOKEN_ENV

TOKEN_ENV = ENV_NAMES["ui_token"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def configured_token() -> str | None:
    """``APFLOW_UI_TOKEN``, else ``APFLOW_MCP_TOKEN``, else None."""
    return ui_token() or revealed(settings().mcp_token)


def ui_token() -> str | None:
    """``APFLOW_UI_TOKEN`` alone (a loopback console uses no other token)."""
    return revealed(settings().ui_token)


def check_bind(host: str, *, allow_remote: bool, token: str | None) -> None:
    """Refuse a non-loopback bind without --allow-remote, and --allow-remote without a token."""
    if not is_loopback(host) and not allow_remote:
        raise ConfigError(
            f"refusing to serve the console on {host}: only loopback addresses are allowed "
            "by default",
            hint=f"pass --allow-remote and set {TOKEN_ENV} to a secret token to serve remotely",
        )
    if allow_remote and (not token or len(token) < MIN_TOKEN_LENGTH):
        raise ConfigError(
            f"--allow-remote needs a token in {TOKEN_ENV} or {MCP_TOKEN_ENV} "
            f"(at least {MIN_TOKEN_LENGTH} characters)",
            hint=f"set {TOKEN_ENV} to a long random secret, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe())'`",
        )


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):  # [::1]:8766
        return host_header[1 : host_header.find("]")]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class Guard:
    """ASGI wrapper applying the rules above before any handler runs.

    A plain ASGI wrapper rather than Starlette middleware: it must not buffer the
    event streams, and it sees every request, static files included.
    """

    def __init__(self, app: Any, *, token: str | None, allow_remote: bool) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode() if token else None
        self.allow_remote = allow_remote
        self.live: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _send_json(send, *refusal)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers") or []) + _HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(
        self, scope: dict[str, Any], headers: dict[bytes, bytes]
    ) -> tuple[int, dict[str, str]] | None:
        host = headers.get(b"host", b"").decode("latin-1")
        if not self.allow_remote and not is_loopback(_host_name(host)):
            return 421, {
                "error": f"this console answers only on loopback addresses, not {host!r}",
                "hint": "open it as http://127.0.0.1:<port>/, or start it with --allow-remote",
            }
        path: str = scope.get("path", "")
        if not path.startswith("/api/"):
            return None
        if self._expected is not None:
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                return 401, {
                    "error": "unauthorized",
                    "hint": f"send Authorization: Bearer <token> (the console's {TOKEN_ENV})",
                }
        if scope.get("method", "GET") in SAFE_METHODS:
            return None
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type != b"application/json":
            return 415, {
                "error": "a request that changes something must be JSON",
                "hint": "send Content-Type: application/json",
            }
        origin = headers.get(b"origin")
        if origin is not None and origin != b"null":
            parts = urlsplit(origin.decode("latin-1"))
            if parts.netloc != host:
                return 403, {
                    "error": f"cross-origin request from {origin.decode('latin-1')} refused",
                    "hint": "use the console's own page",
                }
        elif origin == b"null":
            return 403, {"error": "cross-origin request refused", "hint": "use the console"}
        return None


async def _send_json(send: Any, status: int, body: dict[str, str]) -> None:
    data = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        *_HEADERS,
    ]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="apflow-ui"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
