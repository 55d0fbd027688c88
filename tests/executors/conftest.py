"""Fixtures for executor tests: local servers only, private network opt-in per test."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from apflow.executors import _net
from tests.helpers import free_port


@pytest.fixture
def allow_private(monkeypatch):
    """Let executors reach the test's own 127.0.0.1 servers."""
    monkeypatch.setenv("APFLOW_ALLOW_PRIVATE_NETWORK", "1")


@pytest.fixture
def deny_private(monkeypatch):
    monkeypatch.delenv("APFLOW_ALLOW_PRIVATE_NETWORK", raising=False)


@pytest.fixture
def silent_server():
    """A 127.0.0.1 port that accepts connections and never answers (timeouts)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}/"


@pytest.fixture
def loopback_one_is_public(monkeypatch, deny_private):
    """Pretend 127.0.0.1 is a public server so redirects away from it can be tested."""
    real = _net.blocked_reason
    monkeypatch.setattr(_net, "blocked_reason", lambda a: None if a == "127.0.0.1" else real(a))


@pytest.fixture
def fake_dns(monkeypatch) -> Iterator[dict[str, str]]:
    """Names the test maps to addresses (``fake_dns["api.test"] = "127.0.0.1"``)."""
    names: dict[str, str] = {}
    real = socket.getaddrinfo

    def lookup(host, port, *args, **kwargs):
        return real(names.get(host, host), port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    yield names
