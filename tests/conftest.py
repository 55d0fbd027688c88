"""Test-wide fixtures and guards.

Every test is offline: a socket guard refuses any connection that is not to a
loopback address, so a forgotten real model or URL fails loudly instead of
reaching the network.
"""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("APFLOW_TESTING", "1")

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NetworkAccessInTests(RuntimeError):
    pass


def _guarded_connect(self, address):
    if not _is_local(address):
        raise NetworkAccessInTests(f"tests must not reach the network (tried {address!r})")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_local(address):
        raise NetworkAccessInTests(f"tests must not reach the network (tried {address!r})")
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture
def db_url(tmp_path) -> str:
    """A fresh SQLite file per test."""
    return f"sqlite+aiosqlite:///{tmp_path / 'apflow.db'}"


@pytest.fixture(autouse=True)
def _isolated_default_db(tmp_path, monkeypatch):
    """create_session() with no argument uses a per-test database file."""
    monkeypatch.setenv("APFLOW_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'default.db'}")
    yield


@pytest.fixture(autouse=True)
def _no_leftover_hooks():
    from apflow.core import hooks

    yield
    hooks.clear_hooks()
