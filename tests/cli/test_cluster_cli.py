"""`apflow run --cluster` / APFLOW_DASK_ADDRESS and `apflow worker`, on the session's cluster."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.conftest import ran_on

distributed = pytest.importorskip("distributed")


def test_run_with_cluster_runs_every_task_on_the_workers(cli, tree_file, dask_cluster):
    address = dask_cluster.scheduler_address
    result = cli("run", str(tree_file), "--cluster", address, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "completed"
    assert data["result"] == {"numbers": 3, "greeting": "hello Ada"}
    assert f"executors run on the Dask cluster at {address} (2 workers" in result.stderr
    assert ran_on(dask_cluster, [t["id"] for t in data["tasks"]])


def test_the_environment_variable_selects_the_cluster(cli, tree_file, dask_cluster, monkeypatch):
    monkeypatch.setenv("APFLOW_DASK_ADDRESS", dask_cluster.scheduler_address)
    result = cli("run", str(tree_file), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "completed"
    assert ran_on(dask_cluster, [t["id"] for t in data["tasks"]])


def test_a_bad_cluster_is_one_line_and_nothing_is_stored(cli, tree_file, monkeypatch):
    result = cli("run", str(tree_file), "--cluster", "local:many")
    assert result.exit_code == 1
    assert "local:N needs a worker count >= 1" in result.stderr
    assert "Traceback" not in result.output
    monkeypatch.setitem(sys.modules, "distributed", None)  # as without apflow[dask]
    result = cli("run", str(tree_file), "--cluster", "tcp://127.0.0.1:8786")
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: running tasks on a Dask cluster needs the dask extra: pip install 'apflow[dask]'"
    ]
    listed = cli("tasks", "list", "--json")
    assert json.loads(listed.stdout) == []


def _apflow_preloaded() -> bool:
    from apflow.core.registry import default_registry

    return default_registry._plugins_loaded and "transform_executor" in default_registry._classes


def test_apflow_worker_joins_the_cluster_with_executors_loaded(dask_cluster):
    address = dask_cluster.scheduler_address
    proc = subprocess.Popen(
        [sys.executable, "-m", "apflow", "worker", address, "--name", "cli-worker", "--no-nanny"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with distributed.Client(address) as client:
            deadline = time.monotonic() + 60
            while True:
                workers = client.scheduler_info(n_workers=-1)["workers"]
                joined = [a for a, w in workers.items() if w.get("name") == "cli-worker"]
                if joined:
                    break
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "apflow worker never joined"
                time.sleep(0.2)
            assert workers[joined[0]]["nthreads"] == 50
            assert client.run(_apflow_preloaded, workers=joined) == {joined[0]: True}
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert "executors loaded (" in output  # the preload said what it imported


def test_apflow_worker_help_names_the_passthrough():
    result = subprocess.run(
        [sys.executable, "-m", "apflow", "worker", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "dask worker" in result.stdout
