"""Console test fixtures: the real app under uvicorn on 127.0.0.1, in a thread of its own.

Trees started through the console run on that server's event loop, exactly as under
``apflow serve ui``; tests talk to it over HTTP only.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from apflow.core.executor import BaseTask
from apflow.core.registry import default_registry
from apflow.service import Service
from apflow.ui import create_app
from apflow.ui.server import console_server
from tests.helpers import NapExecutor, free_port


class BrokenExecutor(BaseTask):
    """Always fails, with the error text it is given."""

    id = "broken_executor"
    description = "fail with `message`"
    input_schema = {"type": "object", "properties": {"message": {"type": "string"}}}

    async def execute(self, inputs):
        return {
            "status": "failed",
            "error": inputs.get("message", "it broke"),
            "error_type": "broken",
        }


def tree(*children: dict[str, Any], name: str = "report") -> list[dict[str, Any]]:
    """An aggregator root over ``children`` (each a task dict with an ``id``)."""
    return [
        {
            "id": "root",
            "name": name,
            "schemas": {"method": "aggregate_results_executor"},
            "dependencies": [c["id"] for c in children],
        },
        *({"parent_id": "root", **c} for c in children),
    ]


def nap(task_id: str, seconds: float, **extra: Any) -> dict[str, Any]:
    return {
        "id": task_id,
        "schemas": {"method": "nap_executor"},
        "inputs": {"seconds": seconds},
        **extra,
    }


class LiveServer:
    """``create_app`` served by uvicorn on 127.0.0.1:<free port> until :meth:`stop`."""

    def __init__(self, service: Service, **app_options: Any) -> None:
        self.service = service
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(service, **app_options)
        self.server = console_server(app, host="127.0.0.1", port=self.port)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def serve() -> None:
            self.loop = asyncio.get_running_loop()
            await self.server.serve()

        asyncio.run(serve())

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the console did not start")
            time.sleep(0.02)
        return self

    def call(self, coro: Any, timeout: float = 60) -> Any:
        """Run ``coro`` on the server's event loop (e.g. wait for a background run)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)


@pytest.fixture
def registry():
    reg = default_registry.copy()
    reg.register(NapExecutor)
    reg.register(BrokenExecutor)
    return reg


@pytest.fixture
def scripted(tmp_path):
    """``scripted(response, ...)`` -> a model string replaying those answers."""

    def make(*responses: Any) -> str:
        path = tmp_path / f"answers-{len(list(tmp_path.glob('answers-*')))}.json"
        path.write_text(json.dumps(list(responses)))
        return f"scripted:{path}"

    return make


@pytest.fixture
def console(db_url, registry) -> Iterator[LiveServer]:
    server = LiveServer(Service(db_url, registry=registry)).start()
    try:
        yield server
    finally:
        server.stop()
