"""What every console route shares: JSON in and out, errors as JSON, the exception handlers."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from apflow.core.errors import ApflowError, ExecutorNotFound, TaskNotFound, ValidationFailed
from apflow.ui.backend import Conflict

#: Largest request body accepted (a tree of the validator's maximum size fits easily).
MAX_BODY_BYTES = 8 * 1024 * 1024


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def json_response(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, default=json_default, ensure_ascii=False, allow_nan=False)
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


def error_response(exc: ApflowError, status: int, **extra: Any) -> Response:
    return json_response(
        {"error": exc.args[0] if exc.args else str(exc), "hint": exc.hint, **extra}, status
    )


_ISSUE_FIELDS = ("code", "task_id", "path", "message", "hint")


def issue_rows(report: Any) -> list[dict[str, Any]]:
    """Issues as the service's IssueView shows them (the same for /api/validate and 422)."""
    return [{k: getattr(i, k) for k in _ISSUE_FIELDS} for i in report.issues]


class BadRequest(ApflowError):
    """The request body or a parameter is malformed."""


async def read_json(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BadRequest(f"request body is over {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BadRequest(f"request body is over {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise BadRequest(f"request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def exception_handlers() -> dict[Any, Any]:
    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApflowError)
        return error_response(exc, 404)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ValidationFailed)
        return error_response(exc, 422, issues=issue_rows(exc.report))

    async def conflict(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApflowError)
        return error_response(exc, 409)

    async def bad(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApflowError)
        return error_response(exc, 400)

    return {
        TaskNotFound: not_found,
        ExecutorNotFound: not_found,
        ValidationFailed: invalid,
        Conflict: conflict,
        ApflowError: bad,
    }
