"""rest_executor: one HTTP request to a JSON or text API.

Built on :mod:`apflow.executors._net`, so private addresses are refused, redirects are
checked hop by hop, and the body is capped. Rate limits and server errors come back as
``retryable`` failed results, so ``params.retries`` on the task makes the engine retry.
"""

from __future__ import annotations

import json as jsonlib
from typing import Any

from apflow.core.executor import BaseTask, Effect, completed, failed
from apflow.executors._fetch import DEFAULT_MAX_BYTES, Fetched, fetch, retry_after_seconds
from apflow.executors._net import NetError, redact_url

#: Methods that only read (RFC 9110 "safe" methods); a ``${...}`` method is not known yet.
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}


class RestExecutor(BaseTask):
    id = "rest_executor"
    effects = "write"
    effects_note = "read for GET, HEAD and OPTIONS; write for any other method"
    unasked_inputs = ("headers", "expected_status", "form", "body")
    name = "HTTP request"
    description = (
        "Call an HTTP API (GET/POST/...; JSON endpoints, sending data) and return status_code, "
        "headers and the body as parsed json (or text). Fails on an unexpected status; 429/5xx "
        "are retryable."
    )
    input_schema = {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "description": "http(s) URL to call"},
            "method": {
                "type": "string",
                "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                "default": "GET",
                "description": "HTTP method",
            },
            "headers": {**_STRING_MAP, "description": "request headers, e.g. Authorization"},
            "query": {
                "type": "object",
                "additionalProperties": {"type": ["string", "number", "boolean"]},
                "description": "query-string parameters added to the URL",
            },
            "json": {"description": "JSON request body (any JSON value)"},
            "body": {"type": "string", "description": "raw text request body"},
            "form": {
                "type": "object",
                "additionalProperties": {"type": ["string", "number", "boolean"]},
                "description": "form fields sent url-encoded (application/x-www-form-urlencoded)",
            },
            "timeout": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 600,
                "default": 30,
                "description": "seconds for the whole request, redirects included",
            },
            "expected_status": {
                "oneOf": [
                    {"type": "integer", "minimum": 100, "maximum": 599},
                    {
                        "type": "array",
                        "items": {"type": "integer", "minimum": 100, "maximum": 599},
                        "minItems": 1,
                    },
                ],
                "description": "status code(s) that count as success; default any 2xx",
            },
            "max_bytes": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MAX_BYTES,
                "description": "largest response body accepted, in bytes (default 5 MiB)",
            },
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "status_code": {"type": "integer"},
            "headers": {"type": "object", "description": "response headers, secrets redacted"},
            "json": {"description": "parsed body when it is JSON, else null"},
            "text": {"type": ["string", "null"], "description": "body text when not JSON"},
            "url": {"type": "string", "description": "final URL after redirects"},
        },
    }

    def effect(self, inputs: dict[str, Any]) -> Effect:
        method = inputs.get("method", "GET") if isinstance(inputs, dict) else None
        reads = isinstance(method, str) and method.upper() in _READ_METHODS
        return Effect.READ if reads else Effect.WRITE

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        invalid = self.validate_inputs(inputs)
        if invalid:
            return invalid
        bodies = [k for k in ("json", "body", "form") if k in inputs]
        if len(bodies) > 1:
            return failed(f"give one request body, not {' and '.join(bodies)}", "validation_error")
        method = inputs.get("method", "GET")
        try:
            got = await fetch(
                method,
                inputs["url"],
                headers=inputs.get("headers"),
                params=inputs.get("query"),
                json=inputs.get("json"),
                content=inputs.get("body"),
                data=inputs.get("form"),
                timeout=float(inputs.get("timeout", 30)),
                max_bytes=int(inputs.get("max_bytes", DEFAULT_MAX_BYTES)),
            )
        except NetError as exc:
            return failed(str(exc), exc.error_type, retryable=exc.retryable)
        result = _decode(got.body, got.headers.get("content-type", ""))
        result = {"status_code": got.status_code, "headers": got.headers, **result, "url": got.url}
        expected = inputs.get("expected_status")
        ok = (
            200 <= got.status_code < 300
            if expected is None
            else got.status_code in (expected if isinstance(expected, list) else [expected])
        )
        if ok:
            return completed(result)
        excerpt = (result["text"] or jsonlib.dumps(result["json"]))[:300]
        want = expected if expected is not None else "2xx"
        return status_failure(
            got,
            f"{method} {redact_url(got.url)} returned {got.status_code} "
            f"(expected {want}): {excerpt}",
        )


def status_failure(got: Fetched, message: str) -> dict[str, Any]:
    """A failed result for an HTTP status; 429 and 5xx are retryable, after Retry-After."""
    retryable = got.status_code == 429 or got.status_code >= 500
    extra: dict[str, Any] = {"status_code": got.status_code, "retryable": retryable}
    wait = retry_after_seconds(got.headers.get("retry-after"))
    if retryable and wait is not None:
        extra["retry_after"] = wait
    return failed(message, "http_error", **extra)


def _decode(body: bytes, content_type: str) -> dict[str, Any]:
    text = body.decode(charset_of(content_type), errors="replace")
    if "json" in content_type.lower() or text[:1] in ("{", "["):
        try:
            return {"json": jsonlib.loads(text), "text": None}
        except ValueError:
            pass
    return {"json": None, "text": text}


def charset_of(content_type: str) -> str:
    """The charset a Content-Type names, if Python knows it; else utf-8."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            try:
                "".encode(value.strip('"'))
                return value.strip('"')
            except LookupError:
                break
    return "utf-8"
