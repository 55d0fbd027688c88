"""The console over real HTTP: uvicorn on 127.0.0.1, httpx as the client."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from apflow.cli.app import app as cli_app
from apflow.service import Service
from apflow.ui import app as ui_app

from .conftest import LiveServer, nap, tree

TOKEN = "s3cret-token-for-the-console"
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def post(console: LiveServer, path: str, data: Any, **headers: str) -> httpx.Response:
    return httpx.post(console.url + path, json=data, headers=headers, timeout=30)


def get(console: LiveServer, path: str, **params: Any) -> httpx.Response:
    return httpx.get(console.url + path, params=params, timeout=30)


def start(console: LiveServer, tasks: list[dict[str, Any]], **body: Any) -> str:
    resp = post(console, "/api/trees", {"tasks": tasks, **body})
    assert resp.status_code == 201, resp.text
    return resp.json()["root_id"]


def finish(console: LiveServer, root_id: str) -> dict[str, dict[str, Any]]:
    console.call(console.service.wait(root_id))
    return {t["spec_id"]: t for t in get(console, f"/api/trees/{root_id}").json()["tasks"]}


def test_the_page_is_static_and_forbids_inline_script(console):
    resp = get(console, "/")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["x-content-type-options"] == "nosniff"
    html = resp.text
    # Every script is a file of ours: nothing inline, nothing from another host.
    assert html.count("<script") == html.count('<script src="/static/') == 2
    assert "http" not in html.replace("http-equiv", "")
    for asset in ("/static/app.js", "/static/graph.js", "/static/app.css"):
        assert get(console, asset).status_code == 200


def test_a_tree_is_stored_run_and_read_back(console):
    root_id = start(console, tree(nap("a", 0.01, inputs={"seconds": 0.01, "value": 41})))
    tasks = finish(console, root_id)
    assert tasks["root"]["status"] == "completed" and tasks["a"]["status"] == "completed"
    detail = get(console, f"/api/tasks/{tasks['a']['id']}").json()
    assert detail["result"] == 41
    assert detail["inputs"]["seconds"] == 0.01
    assert detail["executor"] == "nap_executor" and detail["duration_s"] >= 0
    assert get(console, "/api/tasks/nope").status_code == 404
    missing = get(console, "/api/trees/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]


def test_untrusted_text_comes_back_as_json_data(console):
    root_id = start(console, tree(nap("a", 0.01), name=XSS))
    finish(console, root_id)
    resp = get(console, f"/api/trees/{root_id}")
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["x-content-type-options"] == "nosniff"
    names = {t["name"] for t in resp.json()["tasks"]}
    assert XSS in names


def test_an_invalid_tree_is_refused_with_every_issue_and_nothing_stored(console):
    bad = tree({"id": "a", "schemas": {"method": "no_such_executor"}})
    resp = post(console, "/api/trees", {"tasks": bad})
    assert resp.status_code == 422
    issues = resp.json()["issues"]
    assert issues and all(i["code"] and i["message"] for i in issues)
    assert any("no_such_executor" in i["message"] for i in issues)
    assert get(console, "/api/trees").json()["total"] == 0
    report = post(console, "/api/validate", {"tasks": bad}).json()
    assert report["valid"] is False and report["issues"] == issues
    assert post(console, "/api/trees", {"nothing": 1}).status_code == 400
    not_json = httpx.post(
        console.url + "/api/trees", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["error"]


def read_events(resp: httpx.Response, until) -> list[tuple[str, dict[str, Any], float]]:
    """SSE events (name, data, arrival time) until ``until(events)`` is true."""
    seen: list[tuple[str, dict[str, Any], float]] = []
    name, data = "message", ""
    for line in resp.iter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif line == "" and data:
            seen.append((name, json.loads(data), time.monotonic()))
            name, data = "message", ""
            if until(seen):
                return seen
    return seen


def test_events_push_the_status_changes_of_a_real_run(console, monkeypatch):
    # Polling the database would take a minute: whatever arrives sooner was pushed.
    monkeypatch.setattr(ui_app, "POLL_SECONDS", 60.0)
    chain = tree(
        nap("first", 0.6),
        nap("second", 0.3, dependencies=["first"]),
        *(nap(f"fast{i}", 0.0, dependencies=["first"]) for i in range(30)),
    )
    root_id = start(console, chain)
    statuses: dict[str, list[str]] = {}

    def root_finished(seen) -> bool:
        for _event, data, _ in seen:
            for s in data["tasks"]:
                if not statuses.get(s["id"]) or statuses[s["id"]][-1] != s["status"]:
                    statuses.setdefault(s["id"], []).append(s["status"])
        statuses_root = statuses.get(root_id, [])
        return bool(statuses_root) and statuses_root[-1] == "completed"

    with httpx.stream("GET", f"{console.url}/api/trees/{root_id}/events", timeout=30) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        seen = read_events(resp, lambda s: root_finished(s[-1:]))
    assert seen[0][0] == "snapshot" and len(seen[0][1]["tasks"]) == 33
    tasks = finish(console, root_id)
    by_id = {t["id"]: t["spec_id"] for t in tasks.values()}
    named = {by_id[i]: s for i, s in statuses.items()}
    assert named["second"][-2:] == ["in_progress", "completed"]
    assert named["root"][-1] == "completed"  # its in_progress may share a batch with it
    assert all(named[f"fast{i}"][-1] == "completed" for i in range(30))
    # Batched: 33 tasks x 2 changes arrived in a handful of messages, at most 4 a second.
    pushed = [t for name, _, t in seen if name == "tasks"]
    assert 2 <= len(pushed) <= 10
    gaps = [b - a for a, b in zip(pushed, pushed[1:], strict=False)]
    assert all(g >= ui_app_batch() - 0.05 for g in gaps), gaps


def ui_app_batch() -> float:
    from apflow.ui.live import BATCH_SECONDS

    return BATCH_SECONDS


def test_cancel_stops_a_running_tree(console):
    root_id = start(console, tree(nap("slow", 30), nap("later", 0.0, dependencies=["slow"])))
    deadline = time.monotonic() + 10
    while get(console, f"/api/trees/{root_id}").json()["tasks"][1]["status"] != "in_progress":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    resp = post(console, f"/api/trees/{root_id}/cancel", {})
    assert resp.status_code == 200 and resp.json()["cancelled"] == 3
    tasks = finish(console, root_id)
    assert {t["status"] for t in tasks.values()} == {"cancelled"}
    assert get(console, f"/api/trees/{root_id}").json()["running"] is False
    assert post(console, f"/api/trees/{root_id}/cancel", {}).json()["cancelled"] == 0


def test_resume_runs_the_unfinished_tasks_of_a_cancelled_tree(console):
    root_id = start(console, tree(nap("a", 0.0), nap("b", 0.4, dependencies=["a"])))
    post(console, f"/api/trees/{root_id}/cancel", {})
    before = finish(console, root_id)
    assert before["root"]["status"] == "cancelled"
    resp = post(console, f"/api/trees/{root_id}/resume", {})
    assert resp.status_code == 200, resp.text
    after = finish(console, root_id)
    assert {t["status"] for t in after.values()} == {"completed"}
    again = post(console, f"/api/trees/{root_id}/resume", {})
    assert again.status_code == 409 and "completed" in again.json()["error"]


def test_a_failed_task_keeps_its_error_and_error_type(console):
    failing = {"id": "bad", "schemas": {"method": "broken_executor"}, "inputs": {"message": XSS}}
    root_id = start(console, tree(failing))
    tasks = finish(console, root_id)
    detail = get(console, f"/api/tasks/{tasks['bad']['id']}").json()
    assert detail["status"] == "failed" and detail["error_type"] == "broken"
    assert detail["error"] == XSS
    assert tasks["root"]["status"] in ("failed", "skipped")


def test_trees_are_listed_newest_first_with_counts_filters_and_pages(console):
    ids = [start(console, tree(nap("a", 0.0))) for _ in range(4)]
    failing = start(console, tree({"id": "bad", "schemas": {"method": "broken_executor"}}))
    ada = start(console, tree(nap("a", 0.0)), user_id="ada")
    for root_id in [*ids, failing, ada]:
        finish(console, root_id)
    seen: list[str] = []
    after = None
    while True:
        page = get(console, "/api/trees", limit=2, **({"after": after} if after else {})).json()
        assert page["total"] == 6 and len(page["trees"]) <= 2
        seen += [t["root_id"] for t in page["trees"]]
        after = page["next"]
        if after is None:
            break
    assert seen == [ada, failing, *reversed(ids)]
    # The root of a tree whose required child failed runs last and fails too.
    root_status = finish(console, failing)["root"]["status"]
    assert root_status == "failed"
    failed = get(console, "/api/trees", status=root_status).json()
    assert [t["root_id"] for t in failed["trees"]] == [failing] and failed["total"] == 1
    assert failed["trees"][0]["counts"]["failed"] == 2  # the child and the root
    assert sum(failed["trees"][0]["counts"].values()) == failed["trees"][0]["tasks"] == 2
    one = get(console, "/api/trees", user="ada").json()["trees"]
    assert [t["root_id"] for t in one] == [ada] and one[0]["counts"] == {"completed": 2}
    bad_status = get(console, "/api/trees", status="done")
    assert bad_status.status_code == 400 and "completed" in bad_status.json()["hint"]
    assert get(console, "/api/trees", after="garbage").status_code == 400
    assert get(console, "/api/trees", limit=0).status_code == 400


def test_generate_streams_the_phases_then_the_tree(console, scripted):
    answer = tree(nap("a", 0.0))
    model = scripted(answer)
    with httpx.stream(
        "POST",
        console.url + "/api/generate",
        json={"requirement": "nap briefly then report", "model": model},
        timeout=30,
    ) as resp:
        assert resp.status_code == 200
        lines = [json.loads(line) for line in resp.iter_lines() if line]
    assert lines[0]["event"] == "phase"
    assert {line["phase"] for line in lines[:-1]} >= {"generate", "validate"}
    assert lines[-1]["event"] == "result"
    assert [t["id"] for t in lines[-1]["tasks"]] == ["root", "a"]

    bad = [{"id": "x", "schemas": {"method": "no_such_executor"}}]
    failing = scripted(bad, bad, bad, bad)
    with httpx.stream(
        "POST",
        console.url + "/api/generate",
        json={"requirement": "do something", "model": failing},
        timeout=30,
    ) as resp:
        last = [json.loads(line) for line in resp.iter_lines() if line][-1]
    assert last["event"] == "error" and last["hint"] and last["issues"]
    assert all(i["code"] and i["message"] for i in last["issues"])
    empty = post(console, "/api/generate", {"requirement": "  "})
    assert empty.status_code == 400 and "describe the workflow" in empty.json()["hint"]


def test_executors_are_listed_with_their_input_schemas(console):
    listed = {e["id"]: e for e in get(console, "/api/executors").json()["executors"]}
    assert listed["nap_executor"]["input_schema"]["properties"]["seconds"] == {"type": "number"}
    assert "aggregate_results_executor" in listed and listed["nap_executor"]["description"]


def test_requests_from_other_sites_are_refused(console):
    # A form post (no JSON) and a cross-origin call change nothing.
    form = httpx.post(console.url + "/api/trees", data={"tasks": "[]"})
    assert form.status_code == 415
    cross = post(console, "/api/trees", {"tasks": tree(nap("a", 0))}, origin="http://evil.example")
    assert cross.status_code == 403
    assert get(console, "/api/trees").json()["total"] == 0
    same = post(console, "/api/validate", {"tasks": []}, origin=console.url)
    assert same.status_code == 200
    # DNS rebinding: a foreign Host name never reaches the API.
    rebound = httpx.get(console.url + "/api/trees", headers={"host": "evil.example:80"})
    assert rebound.status_code == 421


@pytest.fixture
def guarded(db_url, registry):
    server = LiveServer(Service(db_url, registry=registry), token=TOKEN, allow_remote=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_with_a_token_every_api_request_needs_it(guarded):
    url = guarded.url
    assert httpx.get(url + "/").status_code == 200  # the page holds no data
    assert httpx.get(url + "/api/trees").status_code == 401
    wrong = httpx.get(url + "/api/trees", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    auth = {"authorization": f"Bearer {TOKEN}"}
    body = {"tasks": tree(nap("a", 0.0))}
    assert httpx.post(url + "/api/trees", json=body).status_code == 401
    assert httpx.get(url + "/api/trees", headers=auth).json()["total"] == 0
    started = httpx.post(url + "/api/trees", json=body, headers=auth)
    assert started.status_code == 201
    root_id = started.json()["root_id"]
    guarded.call(guarded.service.wait(root_id))
    for path in (f"/api/trees/{root_id}/cancel", f"/api/trees/{root_id}/resume", "/api/generate"):
        assert httpx.post(url + path, json={}).status_code == 401
    events = httpx.get(url + f"/api/trees/{root_id}/events", timeout=5)
    assert events.status_code == 401
    # Remote: any Host name is answered, the token being the guard.
    named = httpx.get(url + "/api/info", headers={**auth, "host": "console.example:80"})
    assert named.status_code == 200 and named.json()["token_required"] is True


def test_serve_ui_refuses_unsafe_binds(monkeypatch):
    runner = CliRunner()
    monkeypatch.delenv("APFLOW_UI_TOKEN", raising=False)
    monkeypatch.delenv("APFLOW_MCP_TOKEN", raising=False)
    remote = runner.invoke(cli_app, ["serve", "ui", "--host", "0.0.0.0"])
    assert remote.exit_code != 0 and "--allow-remote" in remote.output
    no_token = runner.invoke(cli_app, ["serve", "ui", "--host", "0.0.0.0", "--allow-remote"])
    assert no_token.exit_code != 0 and "APFLOW_UI_TOKEN" in no_token.output
    monkeypatch.setenv("APFLOW_UI_TOKEN", "short")
    short = runner.invoke(cli_app, ["serve", "ui", "--host", "0.0.0.0", "--allow-remote"])
    assert short.exit_code != 0 and "16 characters" in short.output


def test_a_tree_run_by_another_process_is_followed_from_the_database(
    console, tmp_path, db_url, monkeypatch
):
    """`apflow run` in a terminal: no engine commits reach the console; it reads the database."""
    import os
    import subprocess
    import sys

    monkeypatch.setattr(ui_app, "POLL_SECONDS", 0.3)  # 2 s in use; shorter keeps the test short

    steps = [
        {
            "id": f"s{i}",
            "schemas": {"method": "command_executor"},
            "inputs": {"argv": ["sleep", "0.6"]},
            **({"dependencies": [f"s{i - 1}"]} if i else {}),
        }
        for i in range(3)
    ]
    spec = tree(*steps)
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(spec))
    env = {**os.environ, "APFLOW_ALLOW_COMMANDS": "1", "APFLOW_COMMAND_ALLOWLIST": "sleep"}
    cli = subprocess.Popen(
        [sys.executable, "-m", "apflow", "--db", db_url, "run", str(path), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not (trees := get(console, "/api/trees").json()["trees"]):
            assert time.monotonic() < deadline and cli.poll() is None, cli.communicate()[0][-2000:]
            time.sleep(0.05)
        root_id = trees[0]["root_id"]
        assert not console.service.is_running(root_id)
        statuses: dict[str, str] = {}

        def done(seen) -> bool:
            statuses.update((s["id"], s["status"]) for s in seen[-1][1]["tasks"])
            return statuses.get(root_id) == "completed"

        with httpx.stream("GET", f"{console.url}/api/trees/{root_id}/events", timeout=30) as r:
            seen = read_events(r, done)
        pushed = [data for name, data, _ in seen if name == "tasks"]
        assert pushed, "no change arrived after the snapshot"
        assert set(statuses.values()) == {"completed"} and len(statuses) == 4
    finally:
        out, err = cli.communicate(timeout=60)
    assert cli.returncode == 0, err


def test_a_token_set_for_a_loopback_console_is_checked_too(db_url, registry):
    server = LiveServer(Service(db_url, registry=registry), token=TOKEN).start()
    try:
        assert httpx.get(server.url + "/api/trees").status_code == 401
        auth = {"authorization": f"Bearer {TOKEN}"}
        assert httpx.get(server.url + "/api/trees", headers=auth).status_code == 200
        # Still loopback only: the token does not open it to other Host names.
        named = httpx.get(server.url + "/api/trees", headers={**auth, "host": "evil.example"})
        assert named.status_code == 421
    finally:
        server.stop()
