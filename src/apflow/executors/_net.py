"""Outbound HTTP for executors: SSRF guard, manual redirects, size caps, header redaction.

Generated trees put model-written URLs into requests, so a URL is untrusted input.
Every connection goes through :class:`GuardedTransport`, which resolves the host,
refuses the request when ANY address is loopback, private, link-local, reserved or a
cloud metadata address, and then connects to the checked address itself (Host header
and TLS SNI keep the name), so a DNS answer cannot change between check and connect.
Redirects are followed here, one hop at a time, so every hop is checked the same way.
``APFLOW_ALLOW_PRIVATE_NETWORK=1`` turns the address check off (local services, tests).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from apflow.core.config import flag
from apflow.core.utils.logger import get_logger

logger = get_logger(__name__)

ALLOW_PRIVATE_ENV = "APFLOW_ALLOW_PRIVATE_NETWORK"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
_SENSITIVE = re.compile(r"authorization|cookie|key|token|secret|password|session", re.I)
REDACTED = "***"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class NetError(Exception):
    """A request that could not be made; ``error_type`` goes into the failed result."""

    error_type = "connect_error"
    retryable = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class Disallowed(NetError):
    error_type = "disallowed"


class TooLarge(NetError):
    error_type = "response_too_large"


class NetTimeout(NetError):
    error_type = "timeout"
    retryable = True


# -- redaction --------------------------------------------------------------------------


def is_sensitive_header(name: str) -> bool:
    return bool(_SENSITIVE.search(name))


def redact_headers(headers: Any) -> dict[str, str]:
    """Header dict safe to log or store: secret-looking values become ``***``."""
    items = headers.items() if hasattr(headers, "items") else headers
    return {k: (REDACTED if is_sensitive_header(k) else v) for k, v in items}


def redact_url(url: str) -> str:
    """Drop ``user:password@`` from a URL before it reaches a log or an error message."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=f"{REDACTED}@{parts.netloc.rpartition('@')[2]}"))


# -- address checks ---------------------------------------------------------------------


def private_network_allowed() -> bool:
    return flag(ALLOW_PRIVATE_ENV)


def blocked_reason(address: str) -> str | None:
    """Why an IP address must not be contacted, or None when it is a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:  # an IPv4 address in IPv6 clothing is judged as IPv4
            ip = embedded
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (cloud metadata lives here)"
    if ip.is_private:
        return "private"
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return "non-public"
    return None


def check_scheme(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL; :class:`Disallowed` for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Disallowed(f"malformed URL {redact_url(url)!r}: {exc}") from None
    if parts.scheme not in {"http", "https"}:
        raise Disallowed(f"only http and https URLs are allowed, got {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise Disallowed(f"URL {redact_url(url)!r} has no host")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve_checked(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to; :class:`Disallowed` if any of them is not public."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NetError(f"cannot resolve host {host!r}: {exc}", retryable=True) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        reason = blocked_reason(address)
        if reason:
            raise Disallowed(
                f"refusing to connect to {host} ({address}): {reason} address; "
                f"set {ALLOW_PRIVATE_ENV}=1 to allow private networks"
            )
    return addresses


async def check_url(url: str) -> None:
    """Scheme check, then (unless private networks are allowed) the address check."""
    _, host, port = check_scheme(url)
    if not private_network_allowed():
        await resolve_checked(host, port)


def _guarded_transport_class(httpx_module: Any) -> type:
    class GuardedTransport(httpx_module.AsyncBaseTransport):
        """Checks and pins the address of every request before the inner transport connects."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def handle_async_request(self, request: Any) -> Any:
            url = str(request.url)
            _, host, port = check_scheme(url)
            if not private_network_allowed():
                addresses = await resolve_checked(host, port)
                request.url = request.url.copy_with(host=addresses[0])
                request.extensions = {**request.extensions, "sni_hostname": host}
            return await self.inner.handle_async_request(request)

        async def aclose(self) -> None:
            await self.inner.aclose()

    return GuardedTransport


def guarded_client(httpx_module: Any = None, **kwargs: Any) -> Any:
    """An ``httpx.AsyncClient`` (or ``httpx2``) whose every connection is address-checked."""
    if httpx_module is None:
        import httpx as httpx_module
    transport = _guarded_transport_class(httpx_module)(httpx_module.AsyncHTTPTransport())
    return httpx_module.AsyncClient(transport=transport, follow_redirects=False, **kwargs)


# -- fetching ---------------------------------------------------------------------------


@dataclass
class Fetched:
    status_code: int
    headers: dict[str, str]
    body: bytes
    url: str
    truncated: bool = False
    redirects: list[str] = field(default_factory=list)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


async def fetch(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    json: Any = None,
    content: str | bytes | None = None,
    data: dict[str, Any] | None = None,
    timeout: float = 30.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    truncate: bool = False,
    max_redirects: int = MAX_REDIRECTS,
) -> Fetched:
    """One HTTP exchange with checked redirects and a body cap.

    Past ``max_bytes`` it stops reading: the body is cut (``truncate=True``) or
    :class:`TooLarge` is raised. Raises :class:`NetError` subclasses, never httpx errors.
    """
    import httpx

    check_scheme(url)
    headers = dict(headers or {})
    hops: list[str] = []
    try:
        async with asyncio.timeout(timeout), guarded_client(timeout=timeout) as client:
            while True:
                logger.debug("%s %s headers=%s", method, redact_url(url), redact_headers(headers))
                request = client.build_request(
                    method,
                    url,
                    headers=headers,
                    params=params,
                    json=json,
                    content=content,
                    data=data,
                )
                response = await client.send(request, stream=True)
                try:
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECTS and location:
                        if len(hops) >= max_redirects:
                            raise NetError(
                                f"more than {max_redirects} redirects from {redact_url(url)}"
                            )
                        nxt = urljoin(url, location)  # response.url holds the pinned IP
                        check_scheme(nxt)
                        hops.append(nxt)
                        if urlsplit(nxt)[:2] != urlsplit(url)[:2]:  # new origin: drop secrets
                            headers = {
                                k: v for k, v in headers.items() if not is_sensitive_header(k)
                            }
                        if response.status_code == 303 or (
                            response.status_code in {301, 302} and method.upper() == "POST"
                        ):
                            method, json, content, data = "GET", None, None, None
                            headers = {
                                k: v for k, v in headers.items() if k.lower() != "content-type"
                            }
                        params = None  # the Location already carries its query
                        url = nxt
                        continue
                    body, cut = await _read_capped(response, max_bytes)
                finally:
                    await response.aclose()
                if cut and not truncate:
                    raise TooLarge(
                        f"response from {redact_url(url)} is larger than {max_bytes} bytes; "
                        "raise max_bytes if you need all of it"
                    )
                return Fetched(
                    status_code=response.status_code,
                    headers=redact_headers(response.headers),
                    body=body,
                    url=url,
                    truncated=cut,
                    redirects=hops,
                )
    except (TimeoutError, httpx.TimeoutException):
        raise NetTimeout(f"request to {redact_url(url)} timed out after {timeout}s") from None
    except httpx.TransportError as exc:
        bad_certificate = "CERTIFICATE_VERIFY_FAILED" in str(exc)  # retrying will not fix it
        raise NetError(
            f"cannot reach {redact_url(url)}: {type(exc).__name__}: {exc}",
            retryable=not bad_certificate,
        ) from None
    except httpx.InvalidURL as exc:
        raise Disallowed(f"invalid URL {redact_url(url)!r}: {exc}") from None
    except httpx.HTTPError as exc:  # e.g. a body that does not decode
        raise NetError(f"bad response from {redact_url(url)}: {exc}") from None


async def _read_capped(response: Any, max_bytes: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True
    return b"".join(chunks), False
