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

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from apflow.service import Service
from apflow.ui.backend import Backend
from apflow.ui.live import LiveUpdates
from apflow.ui.responses import MAX_BODY_BYTES as MAX_BODY_BYTES
from apflow.ui.responses import BadRequest as BadRequest
from apflow.ui.responses import error_response as error_response
from apflow.ui.responses import exception_handlers
from apflow.ui.responses import json_response as json_response
from apflow.ui.responses import read_json as read_json
from apflow.ui.routes_console import STATIC as STATIC
from apflow.ui.routes_console import console_routes, page_routes
from apflow.ui.routes_generate import generate_routes
from apflow.ui.routes_trees import MAX_PAGE as MAX_PAGE
from apflow.ui.routes_trees import Pace, tree_routes
from apflow.ui.routes_trees import node_row as node_row
from apflow.ui.routes_trees import sse as sse
from apflow.ui.routes_trees import task_detail as task_detail
from apflow.ui.security import Guard

#: With no engine commit heard for this long, a tree that may be running in another
#: process is read from the database again (runs in this process are pushed, not polled).
POLL_SECONDS = 2.0
POLL_FINISHED_SECONDS = 10.0
HEARTBEAT_SECONDS = 15.0


def _pace() -> Pace:
    """The event streams' pace, read from this module as they go (a test may change it)."""
    return Pace(poll=POLL_SECONDS, poll_finished=POLL_FINISHED_SECONDS, heartbeat=HEARTBEAT_SECONDS)


def create_app(
    service: Service | None = None,
    *,
    token: str | None = None,
    allow_remote: bool = False,
) -> Any:
    """The console as an ASGI app (wrapped in :class:`~apflow.ui.security.Guard`).

    ``service`` holds the database, registry and default model (default: ``Service()``);
    trees started from the page run in this process, in ``service``'s background. The
    routes come from the ``routes_*`` modules beside this one.
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

    routes: list[BaseRoute] = [
        *console_routes(backend, token_required=token is not None),
        *tree_routes(backend, live, _pace),
        *generate_routes(backend),
        *page_routes(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=exception_handlers())
    guard = Guard(app, token=token, allow_remote=allow_remote)
    guard.live = live  # ConsoleServer ends the event streams through it
    return guard
