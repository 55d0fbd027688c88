"""SSRF guard: loopback, private, link-local and metadata addresses are refused before connect."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from werkzeug import Response

from apflow.executors import _fetch, _net
from apflow.executors.http import RestExecutor
from apflow.executors.scrape import ScrapeExecutor


async def rest(url, **extra):
    return await RestExecutor().execute({"url": url, **extra})


@pytest.mark.usefixtures("deny_private")
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://10.0.0.1/",
        "http://192.168.1.10/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::a00:1]/",
        "http://[2002:a00:1::]/",
        "http://0.0.0.0/",
        "http://localhost:9/",
    ],
)
async def test_private_targets_are_refused_before_connecting(url):
    out = await rest(url)
    assert out["status"] == "failed" and out["error_type"] == "disallowed", out
    assert "APFLOW_ALLOW_PRIVATE_NETWORK" in out["error"]


@pytest.mark.usefixtures("deny_private")
async def test_scrape_refuses_metadata_address():
    out = await ScrapeExecutor().execute({"url": "http://169.254.169.254/"})
    assert out["error_type"] == "disallowed"


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://a/", "http:///x"]
)
async def test_only_http_and_https_with_a_host_are_allowed(url, allow_private):
    out = await rest(url)
    assert out["error_type"] == "disallowed"


@pytest.mark.usefixtures("loopback_one_is_public")
@pytest.mark.parametrize(
    "target", ["http://127.0.0.2:{port}/x", "http://169.254.169.254/x", "file:///etc/passwd"]
)
async def test_redirect_to_a_private_address_is_refused(httpserver, target):
    port = httpserver.port
    httpserver.expect_request("/start").respond_with_response(
        Response(status=302, headers={"Location": target.format(port=port)})
    )
    out = await rest(f"http://127.0.0.1:{port}/start")
    assert out["error_type"] == "disallowed", out
    assert len(httpserver.log) == 1  # only the first hop reached a server


@pytest.mark.usefixtures("loopback_one_is_public")
async def test_checked_address_is_pinned_against_dns_rebinding(httpserver, monkeypatch):
    """The name resolves to a public address when checked, then to 10.0.0.1: we must
    still connect to the checked address (the socket guard would raise otherwise)."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1"])

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.test":
            return real(next(answers, "10.0.0.1"), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    httpserver.expect_request(
        "/p", headers={"Host": f"rebind.test:{httpserver.port}"}
    ).respond_with_json({"pinned": True})
    out = await rest(f"http://rebind.test:{httpserver.port}/p")
    assert out["status"] == "completed", out
    assert out["result"]["json"] == {"pinned": True}


@pytest.mark.usefixtures("loopback_one_is_public")
async def test_relative_redirect_keeps_the_host_name_when_pinned(httpserver, fake_dns):
    fake_dns["api.test"] = "127.0.0.1"
    port = httpserver.port
    httpserver.expect_request("/start").respond_with_response(
        Response(status=302, headers={"Location": "/next"})
    )
    httpserver.expect_request("/next", headers={"Host": f"api.test:{port}"}).respond_with_data(
        "arrived"
    )
    out = await rest(f"http://api.test:{port}/start")
    assert out["status"] == "completed", out
    assert out["result"]["text"] == "arrived"
    assert out["result"]["url"] == f"http://api.test:{port}/next"


async def test_cross_origin_redirect_drops_credentials(httpserver, allow_private):
    port = httpserver.port
    httpserver.expect_request("/a").respond_with_response(
        Response(status=307, headers={"Location": f"http://127.0.0.1:{port}/b"})
    )
    httpserver.expect_request("/b").respond_with_data("ok")
    out = await rest(
        f"http://localhost:{port}/a", headers={"Authorization": "Bearer s3", "X-Plain": "p"}
    )
    assert out["status"] == "completed", out
    second = httpserver.log[-1][0]
    assert "Authorization" not in second.headers and second.headers["X-Plain"] == "p"


def test_sensitive_headers_are_redacted():
    headers = {
        "Authorization": "Bearer x",
        "X-Api-Key": "k",
        "X-Auth-Token": "t",
        "Cookie": "c",
        "Accept": "json",
    }
    assert _net.redact_headers(headers) == {
        "Authorization": "***",
        "X-Api-Key": "***",
        "X-Auth-Token": "***",
        "Cookie": "***",
        "Accept": "json",
    }


def test_credentials_in_urls_are_redacted():
    assert _net.redact_url("https://u:pw@host.example/p?q=1") == "https://***@host.example/p?q=1"
    assert _net.redact_url("https://host.example/p") == "https://host.example/p"


async def test_request_logs_never_show_secret_headers(httpserver, allow_private, caplog):
    httpserver.expect_request("/s").respond_with_data("ok")
    with caplog.at_level("DEBUG", logger="apflow"):
        await rest(httpserver.url_for("/s"), headers={"Authorization": "Bearer TOPSECRET"})
    assert "TOPSECRET" not in caplog.text
    assert "'Authorization': '***'" in caplog.text


def test_retry_after_accepts_seconds_and_dates():
    assert _fetch.retry_after_seconds("12") == 12.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= _fetch.retry_after_seconds(later) <= 31
    assert _fetch.retry_after_seconds("soon") is None


@pytest.mark.parametrize(
    "address, blocked",
    [
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
        ("100.64.0.1", True),  # carrier-grade NAT
        ("fd00:ec2::254", True),  # AWS IPv6 metadata
        ("fe80::1%eth0", True),
        ("224.0.0.1", True),
    ],
)
def test_address_classification(address, blocked):
    assert (_net.blocked_reason(address) is not None) is blocked


@pytest.mark.usefixtures("loopback_one_is_public")
async def test_environment_proxy_is_used_after_the_target_is_checked(
    httpserver, fake_dns, closed_port_url, monkeypatch
):
    """The target port is closed, so only a request through the proxy can succeed."""
    fake_dns["api.test"] = "127.0.0.1"
    target_port = closed_port_url.rsplit(":", 1)[1].strip("/")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{httpserver.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    httpserver.expect_request("/via").respond_with_data("proxied")
    out = await rest(f"http://api.test:{target_port}/via")
    assert out["status"] == "completed", out
    assert out["result"]["text"] == "proxied"
    seen = httpserver.log[0][0]
    assert seen.headers["Host"] == f"api.test:{target_port}"
    # The proxy never gets a private target: the check still runs first.
    out = await rest("http://10.0.0.1/")
    assert out["error_type"] == "disallowed" and len(httpserver.log) == 1
