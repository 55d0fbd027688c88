"""The console's generate route: a requirement in, an NDJSON stream of phases and the tree out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from apflow.core.errors import ApflowError, GenerationError
from apflow.core.utils.logger import get_logger
from apflow.ui.backend import Backend
from apflow.ui.responses import BadRequest, issue_rows, json_default, read_json

logger = get_logger(__name__)


def generate_routes(backend: Backend) -> list[Route]:
    """POST /api/generate."""

    async def generate(request: Request) -> Response:
        body = await read_json(request)
        requirement = body.get("requirement")
        if not isinstance(requirement, str) or not requirement.strip():
            raise BadRequest(
                "the requirement is empty",
                hint='describe the workflow, e.g. "fetch https://example.com and summarise it"',
            )
        allow = body.get("executors") or None
        if allow is not None and (
            not isinstance(allow, list) or not all(isinstance(e, str) for e in allow)
        ):
            raise BadRequest("executors must be a list of executor ids")
        mode = body.get("mode") or "single_shot"
        model = body.get("model") or None
        if not isinstance(mode, str) or (model is not None and not isinstance(model, str)):
            raise BadRequest("mode and model must be strings")

        async def stream() -> AsyncIterator[bytes]:
            queue: asyncio.Queue[Any] = asyncio.Queue()
            job = asyncio.create_task(
                backend.generate(
                    requirement, mode=mode, model=model, executors=allow, on_event=queue.put_nowait
                )
            )
            job.add_done_callback(lambda _: queue.put_nowait(None))
            try:
                while (event := await queue.get()) is not None:
                    yield _line(
                        {
                            "event": "phase",
                            "phase": event.phase,
                            "status": event.status,
                            "detail": event.detail,
                            "data": event.data,
                        }
                    )
                yield _line(_outcome(job))
            finally:
                if not job.done():
                    job.cancel()

        return StreamingResponse(
            stream(), media_type="application/x-ndjson", headers={"cache-control": "no-store"}
        )

    return [Route("/api/generate", generate, methods=["POST"])]


def _line(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, default=json_default, ensure_ascii=False) + "\n").encode()


def _outcome(job: asyncio.Task[Any]) -> dict[str, Any]:
    """The last line of a generation stream: the tree, or why there is none."""
    exc = job.exception()
    if exc is None:
        return {"event": "result", **job.result().model_dump(mode="json", exclude={"run"})}
    if isinstance(exc, GenerationError):
        return {
            "event": "error",
            "error": exc.args[0],
            "hint": exc.hint,
            "issues": issue_rows(exc),
            "last_tree": exc.last_tree,
            "attempts": len(exc.attempts),
        }
    if isinstance(exc, ApflowError):
        return {"event": "error", "error": exc.args[0] if exc.args else str(exc), "hint": exc.hint}
    logger.error("generation failed", exc_info=exc)
    return {"event": "error", "error": f"generation failed: {type(exc).__name__}: {exc}"}
