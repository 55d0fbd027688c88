"""The console's tree routes: list, start, read, follow (server-sent events), cancel,
resume, and one task in full."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from apflow.core.models import TaskModel
from apflow.core.states import TERMINAL_STATES
from apflow.ui.backend import Backend
from apflow.ui.live import LiveUpdates, iso, task_state
from apflow.ui.responses import BadRequest, json_default, json_response, read_json

MAX_PAGE = 200


@dataclass(frozen=True)
class Pace:
    """How often an event stream looks at the database, and keeps a quiet stream alive."""

    #: with no engine commit heard for this long, read a tree that may run elsewhere again
    poll: float
    #: ... the same once every task of the tree is finished
    poll_finished: float
    #: a comment line after this long without an event
    heartbeat: float


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
    payload = json.dumps(data, default=json_default, ensure_ascii=False)
    return f"event: {event}\ndata: {payload}\n\n".encode()


def tree_routes(backend: Backend, live: LiveUpdates, pace: Callable[[], Pace]) -> list[Route]:
    """The routes under /api/trees and /api/tasks; ``pace()`` is read as a stream goes."""

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
                    wait = pace().poll_finished if finished else pace().poll
                    batch = await watcher.next_batch(wait)
                    if not batch and not watcher.closed and not backend.is_running(root_id):
                        # Nothing pushed: the tree may be running in another process.
                        fresh = await backend.tree(root_id)
                        batch = [task_state(t) for t in fresh if known.get(t.id) != t.status]
                    if batch:
                        known.update((s["id"], s["status"]) for s in batch)
                        yield sse("tasks", {"running": backend.is_running(root_id), "tasks": batch})
                        quiet_since = time.monotonic()
                    elif time.monotonic() - quiet_since > pace().heartbeat:
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

    return [
        Route("/api/trees", list_trees, methods=["GET"]),
        Route("/api/trees", start_tree, methods=["POST"]),
        Route("/api/trees/{root_id}", get_tree),
        Route("/api/trees/{root_id}/events", tree_events),
        Route("/api/trees/{root_id}/cancel", cancel_tree, methods=["POST"]),
        Route("/api/trees/{root_id}/resume", resume_tree, methods=["POST"]),
        Route("/api/tasks/{task_id}", get_task),
    ]
