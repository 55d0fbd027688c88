"""rest_executor against a real pytest-httpserver on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from werkzeug import Response

from apflow import TaskManager, TaskTreeNode, create_session
from apflow.executors.http import RestExecutor

pytestmark = pytest.mark.usefixtures("allow_private")


async def run(**inputs):
    return await RestExecutor().execute(inputs)


async def test_get_returns_parsed_json_and_status(httpserver):
    httpserver.expect_request("/items", query_string="page=2").respond_with_json({"items": [1, 2]})
    out = await run(url=httpserver.url_for("/items"), query={"page": 2})
    assert out["status"] == "completed"
    assert out["result"]["status_code"] == 200
    assert out["result"]["json"] == {"items": [1, 2]}
    assert out["result"]["text"] is None
    assert out["result"]["headers"]["content-type"] == "application/json"


async def test_post_sends_json_body_and_headers(httpserver):
    httpserver.expect_request(
        "/create", method="POST", json={"name": "x"}, headers={"X-Trace": "t1"}
    ).respond_with_json({"id": 7}, status=201)
    out = await run(
        url=httpserver.url_for("/create"),
        method="POST",
        json={"name": "x"},
        headers={"X-Trace": "t1"},
    )
    assert out["status"] == "completed", out
    assert out["result"]["status_code"] == 201
    assert out["result"]["json"] == {"id": 7}


async def test_text_body_is_returned_as_text(httpserver):
    httpserver.expect_request("/t", method="PUT", data="raw").respond_with_data(
        "plain words", content_type="text/plain; charset=utf-8"
    )
    out = await run(url=httpserver.url_for("/t"), method="PUT", body="raw")
    assert out["result"]["text"] == "plain words"
    assert out["result"]["json"] is None


async def test_unexpected_status_fails_not_retryable(httpserver):
    httpserver.expect_request("/missing").respond_with_data("nope", status=404)
    out = await run(url=httpserver.url_for("/missing"))
    assert out["status"] == "failed"
    assert out["error_type"] == "http_error"
    assert out["status_code"] == 404 and out["retryable"] is False
    assert "404" in out["error"] and "nope" in out["error"]


async def test_expected_status_accepts_listed_codes(httpserver):
    httpserver.expect_request("/gone").respond_with_data("", status=410)
    out = await run(url=httpserver.url_for("/gone"), expected_status=[404, 410])
    assert out["status"] == "completed"
    out = await run(url=httpserver.url_for("/gone"), expected_status=200)
    assert out["status"] == "failed"


async def test_429_is_retryable_with_retry_after(httpserver):
    httpserver.expect_request("/limited").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"}
    )
    out = await run(url=httpserver.url_for("/limited"))
    assert out["error_type"] == "http_error"
    assert out["retryable"] is True and out["retry_after"] == 7.0


async def test_5xx_is_retryable(httpserver):
    httpserver.expect_request("/boom").respond_with_data("oops", status=503)
    out = await run(url=httpserver.url_for("/boom"))
    assert out["retryable"] is True and out["status_code"] == 503


async def test_connect_error_is_retryable(closed_port_url):
    out = await run(url=closed_port_url)
    assert out["status"] == "failed"
    assert out["error_type"] == "connect_error" and out["retryable"] is True


async def test_timeout_fails_with_timeout_type(silent_server):
    out = await run(url=silent_server, timeout=0.3)
    assert out["status"] == "failed" and out["error_type"] == "timeout"
    assert out["retryable"] is True


async def test_body_over_the_cap_fails_without_reading_it_all(httpserver):
    httpserver.expect_request("/big").respond_with_data("x" * 100_000)
    out = await run(url=httpserver.url_for("/big"), max_bytes=1000)
    assert out["status"] == "failed" and out["error_type"] == "response_too_large"


async def test_redirects_are_followed_and_reported(httpserver):
    httpserver.expect_request("/old").respond_with_response(
        Response(status=302, headers={"Location": "/new"})
    )
    httpserver.expect_request("/new").respond_with_json({"moved": True})
    out = await run(url=httpserver.url_for("/old"))
    assert out["result"]["json"] == {"moved": True}
    assert out["result"]["url"].endswith("/new")


async def test_redirect_loop_is_capped(httpserver):
    httpserver.expect_request("/loop").respond_with_response(
        Response(status=302, headers={"Location": "/loop"})
    )
    out = await run(url=httpserver.url_for("/loop"))
    assert out["status"] == "failed" and "more than 5 redirects" in out["error"]


async def test_response_secrets_are_redacted(httpserver):
    httpserver.expect_request("/login").respond_with_data(
        "ok", headers={"Set-Cookie": "sid=secret", "X-Request-Id": "r1"}
    )
    out = await run(url=httpserver.url_for("/login"))
    assert out["result"]["headers"]["set-cookie"] == "***"
    assert out["result"]["headers"]["x-request-id"] == "r1"


@pytest.mark.parametrize(
    "inputs, where",
    [
        ({}, "url"),
        ({"url": 5}, "url"),
        ({"url": "http://x", "method": "FETCH"}, "method"),
        ({"url": "http://x", "headers": {"a": 1}}, "headers/a"),
        ({"url": "http://x", "timeout": 0}, "timeout"),
        ({"url": "http://x", "expected_status": 99}, "expected_status"),
        ({"url": "http://x", "max_bytes": 0}, "max_bytes"),
    ],
)
async def test_invalid_inputs_fail_validation(inputs, where):
    out = await run(**inputs)
    assert out["status"] == "failed" and out["error_type"] == "validation_error"
    assert where in out["error"]


async def test_two_bodies_together_are_rejected():
    out = await run(url="http://127.0.0.1:1/", json={}, body="x")
    assert out["error_type"] == "validation_error" and "not json and body" in out["error"]
    out = await run(url="http://127.0.0.1:1/", form={"a": "b"}, body="x")
    assert out["error_type"] == "validation_error"


async def test_form_fields_are_sent_url_encoded(httpserver):
    httpserver.expect_request(
        "/token",
        method="POST",
        data="grant_type=client_credentials&scope=read+write",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ).respond_with_json({"access_token": "t"})
    out = await run(
        url=httpserver.url_for("/token"),
        method="POST",
        form={"grant_type": "client_credentials", "scope": "read write"},
    )
    assert out["status"] == "completed", out
    assert out["result"]["json"] == {"access_token": "t"}


async def test_runs_inside_the_engine_and_feeds_the_aggregator(httpserver):
    httpserver.expect_request("/data").respond_with_json({"n": 3})
    session = create_session()
    manager = TaskManager(session)
    repo = manager.task_repository
    root = await repo.create_task(name="root", schemas={"method": "aggregate_results_executor"})
    fetch = await repo.create_task(
        name="fetch",
        parent_id=root.id,
        schemas={"method": "rest_executor"},
        inputs={"url": httpserver.url_for("/data")},
    )
    await repo.update_task(root.id, dependencies=[fetch.id])
    node = TaskTreeNode(root)
    node.add_child(TaskTreeNode(fetch))
    await manager.distribute_task_tree(node)
    stored = await repo.get_task_by_id(fetch.id)
    assert stored.status == "completed", stored.error
    assert stored.result["json"] == {"n": 3}
    top = await repo.get_task_by_id(root.id)
    assert top.result[fetch.id]["json"] == {"n": 3}
    assert json.dumps(top.result)  # stored results stay JSON
    await session.close()


async def test_engine_retries_a_503_then_succeeds(httpserver):
    httpserver.expect_ordered_request("/flaky").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/flaky").respond_with_json({"ok": True})
    session = create_session()
    manager = TaskManager(session)
    repo = manager.task_repository
    task = await repo.create_task(
        name="flaky",
        schemas={"method": "rest_executor"},
        inputs={"url": httpserver.url_for("/flaky")},
        params={"retries": 2, "retry_backoff": 0},
    )
    await manager.run_tree(task.id)
    stored = await repo.get_task_by_id(task.id)
    assert (stored.status, stored.result["json"], stored.attempts) == ("completed", {"ok": True}, 2)
    await session.close()


async def test_engine_does_not_retry_a_404(httpserver):
    httpserver.expect_request("/missing").respond_with_data("no", status=404)
    session = create_session()
    manager = TaskManager(session)
    task = await manager.task_repository.create_task(
        name="missing",
        schemas={"method": "rest_executor"},
        inputs={"url": httpserver.url_for("/missing")},
        params={"retries": 3, "retry_backoff": 0},
    )
    await manager.run_tree(task.id)
    stored = await manager.task_repository.get_task_by_id(task.id)
    assert (stored.status, stored.error_type, stored.attempts) == ("failed", "http_error", 1)
    await session.close()
