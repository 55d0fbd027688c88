"""Test-wide fixtures and guards.

Every test is offline: a socket guard refuses any connection that is not to a
loopback address, so a forgotten real model or URL fails loudly instead of
reaching the network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("APFLOW_TESTING", "1")
# evaluated prompts of the local model go to a throwaway folder, not the user's cache
os.environ.setdefault("APFLOW_LOCAL_STATE_DIR", tempfile.mkdtemp(prefix="apflow-states-"))

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


#: A PostgreSQL server given as APFLOW_DATABASE_URL when pytest starts (``.ci/run`` does this):
#: the tests then run against it, each in a database of its own. Otherwise: SQLite files.
_PG_SERVER = os.environ.get("APFLOW_DATABASE_URL", "")
if not _PG_SERVER.startswith(("postgresql", "postgres:")):
    _PG_SERVER = ""


class _PostgresDatabases:
    """Creates and drops one database per test on the server in ``_PG_SERVER``.

    One admin connection on an event loop of its own, in a thread, so sync and async tests
    (each with their own loop) can both ask for a database.
    """

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.url = make_url(url).set(drivername="postgresql+asyncpg")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.conn = self._call(self._connect())

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    async def _connect(self):
        import asyncpg

        u = self.url
        return await asyncpg.connect(
            host=u.host or "127.0.0.1",
            port=u.port or 5432,
            user=u.username,
            password=u.password,
            database=u.database or "postgres",
        )

    def create(self) -> str:
        name = f"apflow_test_{uuid.uuid4().hex[:16]}"
        self._call(self.conn.execute(f'CREATE DATABASE "{name}"'))
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        self._call(self.conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        self._call(self.conn.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


_pg: _PostgresDatabases | None = None


def pytest_unconfigure(config) -> None:
    if _pg is not None:
        _pg.close()


def _postgres() -> _PostgresDatabases:
    global _pg
    if _pg is None:
        _pg = _PostgresDatabases(_PG_SERVER)
    return _pg


def pytest_report_header(config) -> str:
    if _PG_SERVER:
        from sqlalchemy.engine import make_url

        server = make_url(_PG_SERVER).render_as_string(hide_password=True)
        return f"apflow database: PostgreSQL {server}, a fresh database per test"
    return "apflow database: SQLite, a fresh file per test"


@pytest.fixture
def db_url(tmp_path) -> Iterator[str]:
    """A fresh database per test: a SQLite file, or a new PostgreSQL database (see above)."""
    if not _PG_SERVER:
        yield f"sqlite+aiosqlite:///{tmp_path / 'apflow.db'}"
        return
    url = _postgres().create()
    try:
        yield url
    finally:
        _forget_engines(url)
        _postgres().drop(url)


def _forget_engines(url: str) -> None:
    """Let go of cached engines on this test's database (their event loops are closed)."""
    from apflow.core import database

    for key in [k for k in database._engines if k[0] == url]:
        database._engine_loops.pop(key, None)
        database._engines.pop(key).sync_engine.dispose(close=False)


@pytest.fixture(autouse=True)
def _isolated_default_db(tmp_path, monkeypatch, request):
    """create_session() with no argument uses a per-test database (file, or this test's db)."""
    if _PG_SERVER:
        monkeypatch.setenv("APFLOW_DATABASE_URL", request.getfixturevalue("db_url"))
    else:
        monkeypatch.setenv("APFLOW_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'default.db'}")
    yield


@pytest.fixture(autouse=True)
def _fixed_output_width(monkeypatch):
    """CLI output renders 80 columns wide in every test, whatever terminal runs pytest.

    Off a terminal apflow never wraps a printed line (apflow.cli.common), but rich tables and
    trees lay out to the width, which rich takes from COLUMNS or from any standard stream that
    is a terminal (pytest's stdin, say). Pinning it keeps tests independent of both.
    """
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "25")
    common = sys.modules.get("apflow.cli.common")
    if common is not None:  # consoles read COLUMNS when made, at import
        for console in (common.out, common.console):
            monkeypatch.setattr(console, "_width", None)
            monkeypatch.setattr(console, "_height", None)
    yield


@pytest.fixture(autouse=True)
def _no_leftover_hooks():
    from apflow.core import hooks

    yield
    hooks.clear_hooks()


def pytest_sessionstart(session) -> None:
    """Stop early, with what to do, when the installed entry points are out of date.

    Why: built-ins register through the ``apflow.executors`` entry point; a venv made
    before pyproject changed it lists no executors, and hundreds of tests would fail
    for a reason none of them names.
    """
    from importlib.metadata import entry_points

    expected = {
        "builtin": "apflow.executors:register_builtins",
        "generate": "apflow.service.generate_executor:GenerateExecutor",
    }
    values = {ep.name: ep.value for ep in entry_points(group="apflow.executors")}
    if {k: values.get(k) for k in expected} != expected:
        pytest.exit(
            f"the installed apflow entry points are out of date ({values}); run `make install-dev`",
            returncode=4,
        )


@pytest.fixture(autouse=True)
def _no_cluster_from_the_environment(monkeypatch):
    """A developer's APFLOW_DASK_ADDRESS must not send every test's tasks to their cluster."""
    monkeypatch.delenv("APFLOW_DASK_ADDRESS", raising=False)
    yield


@pytest.fixture(scope="session")
def dask_cluster():
    """One local Dask cluster for the whole session: 2 worker processes, 50 slots each.

    Started (a few seconds) only when a test asks for it; each test connects its own
    asynchronous client to ``dask_cluster.scheduler_address`` on its own event loop.
    """
    import warnings

    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():  # its health endpoint moving off a busy port 8787
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=50,
            dashboard_address=None,
            host="127.0.0.1",
        )
    try:
        yield cluster
    finally:
        cluster.close()


def dask_keys(cluster) -> set[str]:
    """Every task key the cluster's scheduler has seen recently."""
    return {str(entry[0]) for entry in list(cluster.scheduler.transition_log)}


def ran_on(cluster, task_ids) -> bool:
    """Every task went to the cluster: keys are apflow-<first task>-<attempt>[+<more>]-..."""
    covered = 0
    for key in dask_keys(cluster):
        for tid in task_ids:
            if key.startswith(f"apflow-{tid}-"):
                attempt = key.removeprefix(f"apflow-{tid}-").split("-")[0]
                covered += 1 + (int(attempt.split("+")[1]) if "+" in attempt else 0)
    return covered >= len(task_ids)


@pytest.fixture
def clean(monkeypatch, tmp_path):
    """No APFLOW_* setting in the environment and a working directory without apflow.toml."""
    from apflow.core.settings import CONFIG_ENV, ENV_NAMES

    for var in (*ENV_NAMES.values(), CONFIG_ENV):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path
