"""`apflow serve ui` as users start it: a real process, stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx

from tests.helpers import free_port

TREE = [
    {"id": "report", "schemas": {"method": "aggregate_results_executor"}, "dependencies": ["n"]},
    {
        "id": "n",
        "parent_id": "report",
        "schemas": {"method": "transform_executor"},
        "inputs": {"data": [1, 2, 3], "operations": [{"op": "length"}]},
    },
]


def test_serve_ui_serves_runs_and_stops_cleanly_with_a_page_open(db_url):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("APFLOW_UI_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "apflow", "--db", db_url, "serve", "ui", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(url + "/", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.1)
        assert page.status_code == 200 and "/static/app.js" in page.text
        started = httpx.post(url + "/api/trees", json={"tasks": TREE}, timeout=30)
        assert started.status_code == 201, started.text
        root_id = started.json()["root_id"]
        snapshot = threading.Event()

        def watch() -> None:  # a browser tab left open on the tree
            try:
                with httpx.stream("GET", f"{url}/api/trees/{root_id}/events", timeout=60) as r:
                    for line in r.iter_lines():
                        if line.startswith("event: snapshot"):
                            snapshot.set()
            except httpx.HTTPError:
                pass

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        assert snapshot.wait(30)
        deadline = time.monotonic() + 30
        while httpx.get(f"{url}/api/trees/{root_id}").json()["tasks"][0]["status"] != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        stopping = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert time.monotonic() - stopping < 10
    assert f"apflow console on {url}/" in err  # messages go to stderr, as for every command
    assert "Traceback" not in err and "ERROR" not in err, err
    assert out == ""
    watcher.join(10)
