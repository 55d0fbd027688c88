"""The SSRF guard for executors' outbound HTTP, and header/URL redaction.

Generated trees put model-written URLs into requests, so a URL is untrusted input.
Every connection goes through the guarded transport, which resolves the host, refuses
the request when ANY address is loopback, private, link-local, reserved or a cloud
metadata address, and then connects to the checked address itself (Host header and TLS
SNI keep the name), so a DNS answer cannot change between check and connect. The
standard proxy variables (``HTTPS_PROXY``, ``NO_PROXY``...) are honoured.
``APFLOW_ALLOW_PRIVATE_NETWORK=1`` turns the address check off (local services, tests).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import urllib.request
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from apflow.core.errors import ApflowError
from apflow.core.settings import ENV_NAMES, settings

ALLOW_PRIVATE_ENV = ENV_NAMES["allow_private_network"]
_SENSITIVE = re.compile(r"authorization|cookie|key|token|secret|password|session", re.I)
REDACTED = "***"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class NetError(ApflowError):
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
    return settings().allow_private_network


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


def proxy_for(scheme: str, host: str) -> str | None:
    """The proxy the environment names for this request (HTTP(S)_PROXY, NO_PROXY), if any."""
    proxies = urllib.request.getproxies()
    if scheme not in proxies or urllib.request.proxy_bypass(host):
        return None
    return proxies[scheme]


def _guarded_transport_class(httpx_module: Any) -> type:
    class GuardedTransport(httpx_module.AsyncBaseTransport):
        """Checks and pins the address of every request before a connection is made."""

        def __init__(self) -> None:
            self.transports: dict[str | None, Any] = {}

        async def handle_async_request(self, request: Any) -> Any:
            scheme, host, port = check_scheme(str(request.url))
            proxy = proxy_for(scheme, host)
            if not private_network_allowed():
                addresses = await resolve_checked(host, port)
                if proxy is None:  # a proxy must get the name: it forwards it as the Host
                    request.url = request.url.copy_with(host=addresses[0])
                    request.extensions = {**request.extensions, "sni_hostname": host}
            if proxy not in self.transports:
                self.transports[proxy] = httpx_module.AsyncHTTPTransport(proxy=proxy)
            return await self.transports[proxy].handle_async_request(request)

        async def aclose(self) -> None:
            for transport in self.transports.values():
                await transport.aclose()

    return GuardedTransport


def guarded_client(httpx_module: Any = None, **kwargs: Any) -> Any:
    """An ``httpx.AsyncClient`` (or ``httpx2``) whose every connection is address-checked."""
    if httpx_module is None:
        import httpx as httpx_module
    transport = _guarded_transport_class(httpx_module)()
    return httpx_module.AsyncClient(transport=transport, follow_redirects=False, **kwargs)
