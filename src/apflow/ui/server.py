"""Serving the console with uvicorn, so that open pages never hold up a shutdown.

A tree page keeps an event stream open; uvicorn would wait for it (then cancel it with a
traceback) when asked to stop. :class:`ConsoleServer` ends every stream first.
"""

from __future__ import annotations

from typing import Any

import uvicorn


class ConsoleServer(uvicorn.Server):
    async def shutdown(self, sockets: Any = None) -> None:
        live = getattr(self.config.app, "live", None)
        if live is not None:
            live.close()
        await super().shutdown(sockets)


def console_server(app: Any, *, host: str, port: int, log_level: str = "warning") -> ConsoleServer:
    """A server for ``create_app(...)``'s app; ``await server.serve()`` runs it."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=3
    )
    return ConsoleServer(config)
