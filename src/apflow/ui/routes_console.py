"""The console's own routes: the page, its static files, what it needs to know (version,
model, statuses, executors) and the validator."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from apflow import __version__
from apflow.core.states import TaskStatus
from apflow.ui.backend import Backend
from apflow.ui.responses import json_response, read_json

STATIC = Path(__file__).parent / "static"


def page_routes() -> list[BaseRoute]:
    """GET / and the static files under /static."""

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})

    return [
        Route("/", index),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def console_routes(backend: Backend, *, token_required: bool) -> list[Route]:
    """GET /api/info, POST /api/validate and GET /api/executors."""

    async def info(request: Request) -> Response:
        return json_response(
            {
                "version": __version__,
                "model": backend.model,
                "token_required": token_required,
                "statuses": [s.value for s in TaskStatus],
            }
        )

    async def validate(request: Request) -> Response:
        body = await read_json(request)
        return json_response(backend.validate(body.get("tasks")).model_dump(mode="json"))

    async def executors(request: Request) -> Response:
        return json_response(
            {"executors": [e.model_dump(mode="json") for e in backend.executors()]}
        )

    return [
        Route("/api/info", info),
        Route("/api/validate", validate, methods=["POST"]),
        Route("/api/executors", executors),
    ]
