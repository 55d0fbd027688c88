"""One HTTP exchange for executors: checked redirects, a streamed body cap, clean errors.

Redirects are followed here, one hop at a time (never by httpx), so every hop goes through
the SSRF guard in :mod:`apflow.executors._net`, and secrets are dropped on a new origin.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from apflow.core.utils.logger import get_logger
from apflow.executors._net import (
    Disallowed,
    NetError,
    NetTimeout,
    TooLarge,
    check_scheme,
    guarded_client,
    is_sensitive_header,
    redact_headers,
    redact_url,
)

logger = get_logger(__name__)

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}


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
