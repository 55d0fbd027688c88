"""Shared by the console benchmarks: the real console under uvicorn on 127.0.0.1, in a thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

from apflow.service import Service
from apflow.ui import create_app
from apflow.ui.server import console_server


class Console:
    def __init__(self, db: str, **service_options: Any) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.service = Service(db, **service_options)
        self.server = console_server(create_app(self.service), host="127.0.0.1", port=self.port)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def __enter__(self) -> Console:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise SystemExit("the console did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(20)
