"""The console's HTTP side: one static page and a small JSON API.

The page renders every piece of stored text with ``textContent`` (never as markup), so the
API can hand out task names, inputs and results exactly as stored. Routes:

    GET  /                                 the page (static; holds no data)
    GET  /api/info                         version, default model, whether a token is needed
    GET  /api/trees?status&user&limit&after  stored trees, newest first, with status counts
    POST /api/trees                        {"tasks": [...]} -> validate, store, run here
    GET  /api/trees/{id}                   the tree's tasks (without inputs and results)
    GET  /api/trees/{id}/events            server-sent events: snapshot, then state batches
    POST /api/trees/{id}/cancel            cancel (here or, through the database, elsewhere)
    POST /api/trees/{id}/resume            {"force": bool} -> run unfinished tasks again
    GET  /api/tasks/{id}                   one task in full: inputs, result, error, timings
    POST /api/validate                     {"tasks": [...]} -> the validator's report
    POST /api/generate                     {"requirement", "mode", "model", "executors"}
                                           -> NDJSON: phase events, then result or error
    GET  /api/executors                    registered executors and their input schemas
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from apflow import __version__
from apflow.core.errors import (
    ApflowError,
    ExecutorNotFound,
    GenerationError,
    TaskNotFound,
    ValidationFailed,
)
from apflow.core.models import TaskModel
from apflow.core.states import TERMINAL_STATES, TaskStatus
from apflow.core.utils.logger import get_logger
from apflow.service import Service
from apflow.ui.backend import Backend, Conflict
from apflow.ui.live import LiveUpdates, iso, task_state
from apflow.ui.security import Guard

logger = get_logger(__name__)

STATIC = Path(__file__).parent / "static"
#: Largest request body accepted (a tree of the validator's maximum size fits easily).
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_PAGE = 200
#: With no engine commit heard for this long, a tree that may be running in another
#: process is read from the database again (runs in this process are pushed, not polled).
POLL_SECONDS = 2.0
POLL_FINISHED_SECONDS = 10.0
HEARTBEAT_SECONDS = 15.0


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def json_response(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, default=_default, ensure_ascii=False, allow_nan=False)
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


def _issues(report: Any) -> list[dict[str, Any]]:
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


def node_row(task: TaskModel) -> dict[str, Any]:
    """A task as the graph draws it: everything but its inputs and result."""
    return {
        **task_state(task),
        "spec_id": task.spec_id,
        "name": task.name,
        "executor": task.executor_id,
        "parent_id": task.parent_id,
        "dependencies": task.dependencies or [],
        "priority": task.priority,
    }


def task_detail(task: TaskModel) -> dict[str, Any]:
    seconds = None
    if task.started_at is not None and task.completed_at is not None:
        seconds = round((task.completed_at - task.started_at).total_seconds(), 3)
    return {
        **node_row(task),
        "error": task.error,
        "inputs": task.inputs,
        "params": task.params,
        "schemas": task.schemas,
        "result": task.result,
        "result_meta": task.result_meta,
        "user_id": task.user_id,
        "created_at": iso(task.created_at),
        "duration_s": seconds,
    }


def sse(event: str, data: Any) -> bytes:
    payload = json.dumps(data, default=_default, ensure_ascii=False)
    return f"event: {event}\ndata: {payload}\n\n".encode()


def create_app(
    service: Service | None = None,
    *,
    token: str | None = None,
    allow_remote: bool = False,
) -> Any:
    """The console as an ASGI app (wrapped in :class:`~apflow.ui.security.Guard`).

    ``service`` holds the database, registry and default model (default: ``Service()``);
    trees started from the page run in this process, in ``service``'s background.
    """
    backend = Backend(service)
    live = LiveUpdates()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        live.start()
        try:
            yield
        finally:
            live.stop()
            await backend.close()

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})

    async def info(request: Request) -> Response:
        return json_response(
            {
                "version": __version__,
                "model": backend.model,
                "token_required": token is not None,
                "statuses": [s.value for s in TaskStatus],
            }
        )

    async def list_trees(request: Request) -> Response:
        q = request.query_params
        try:
            limit = int(q.get("limit") or 50)
        except ValueError:
            raise BadRequest(f"limit must be a number, got {q.get('limit')!r}") from None
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
        status = q.get("status") or None
        page = await backend.list_trees(
            status=status, user_id=q.get("user") or None, limit=limit, after=q.get("after") or None
        )
        return json_response(
            {
                "trees": [
                    {**t.model_dump(mode="json"), "tasks": sum(t.counts.values())}
                    for t in page.trees
                ],
                "total": page.total,
                "next": page.next_cursor,
            }
        )

    async def start_tree(request: Request) -> Response:
        body = await read_json(request)
        if "tasks" not in body:
            raise BadRequest('send {"tasks": [...]}, the tree as a list of tasks')
        user_id = body.get("user_id")
        if user_id is not None and not isinstance(user_id, str):
            raise BadRequest("user_id must be a string")
        root_id = await backend.start(body["tasks"], user_id=user_id)
        return json_response({"root_id": root_id}, 201)

    async def get_tree(request: Request) -> Response:
        root_id = request.path_params["root_id"]
        tasks = await backend.tree(root_id)
        return json_response(
            {
                "root_id": root_id,
                "running": backend.is_running(root_id),
                "tasks": [node_row(t) for t in tasks],
            }
        )

    async def tree_events(request: Request) -> Response:
        root_id = request.path_params["root_id"]
        await backend.tree(root_id)  # 404 now rather than inside the stream

        async def stream() -> AsyncIterator[bytes]:
            watcher = live.watch(root_id)
            try:
                # Read after subscribing: a commit between the two is sent twice, never lost.
                tasks = await backend.tree(root_id)
                known = {t.id: t.status for t in tasks}
                yield sse(
                    "snapshot",
                    {
                        "running": backend.is_running(root_id),
                        "tasks": [task_state(t) for t in tasks],
                    },
                )
                quiet_since = time.monotonic()
                while not watcher.closed:
                    finished = all(s in TERMINAL_STATES for s in known.values())
                    wait = POLL_FINISHED_SECONDS if finished else POLL_SECONDS
                    batch = await watcher.next_batch(wait)
                    if not batch and not watcher.closed and not backend.is_running(root_id):
                        # Nothing pushed: the tree may be running in another process.
                        fresh = await backend.tree(root_id)
                        batch = [task_state(t) for t in fresh if known.get(t.id) != t.status]
                    if batch:
                        known.update((s["id"], s["status"]) for s in batch)
                        yield sse("tasks", {"running": backend.is_running(root_id), "tasks": batch})
                        quiet_since = time.monotonic()
                    elif time.monotonic() - quiet_since > HEARTBEAT_SECONDS:
                        yield b": keep-alive\n\n"
                        quiet_since = time.monotonic()
            finally:
                live.forget(root_id, watcher)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )

    async def cancel_tree(request: Request) -> Response:
        root_id = request.path_params["root_id"]
        await read_json(request)
        count = await backend.cancel(root_id)
        return json_response({"root_id": root_id, "cancelled": count})

    async def resume_tree(request: Request) -> Response:
        root_id = request.path_params["root_id"]
        body = await read_json(request)
        await backend.resume(root_id, force=body.get("force") is True)
        return json_response({"root_id": root_id, "running": True})

    async def get_task(request: Request) -> Response:
        return json_response(task_detail(await backend.task(request.path_params["task_id"])))

    async def validate(request: Request) -> Response:
        body = await read_json(request)
        return json_response(backend.validate(body.get("tasks")).model_dump(mode="json"))

    async def executors(request: Request) -> Response:
        return json_response(
            {"executors": [e.model_dump(mode="json") for e in backend.executors()]}
        )

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

    routes = [
        Route("/", index),
        Route("/api/info", info),
        Route("/api/trees", list_trees, methods=["GET"]),
        Route("/api/trees", start_tree, methods=["POST"]),
        Route("/api/trees/{root_id}", get_tree),
        Route("/api/trees/{root_id}/events", tree_events),
        Route("/api/trees/{root_id}/cancel", cancel_tree, methods=["POST"]),
        Route("/api/trees/{root_id}/resume", resume_tree, methods=["POST"]),
        Route("/api/tasks/{task_id}", get_task),
        Route("/api/validate", validate, methods=["POST"]),
        Route("/api/generate", generate, methods=["POST"]),
        Route("/api/executors", executors),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=_handlers())
    guard = Guard(app, token=token, allow_remote=allow_remote)
    guard.live = live  # ConsoleServer ends the event streams through it
    return guard


def _line(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, default=_default, ensure_ascii=False) + "\n").encode()


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
            "issues": _issues(exc),
            "last_tree": exc.last_tree,
            "attempts": len(exc.attempts),
        }
    if isinstance(exc, ApflowError):
        return {"event": "error", "error": exc.args[0] if exc.args else str(exc), "hint": exc.hint}
    logger.error("generation failed", exc_info=exc)
    return {"event": "error", "error": f"generation failed: {type(exc).__name__}: {exc}"}


def _handlers() -> dict[Any, Any]:
    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApflowError)
        return error_response(exc, 404)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ValidationFailed)
        return error_response(exc, 422, issues=_issues(exc.report))

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
