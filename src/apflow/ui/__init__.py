"""The web console, ``apflow serve ui``: describe, watch and steer trees in a browser.

A Starlette app (:func:`create_app`) serving one static page and a JSON API; live tree
updates are server-sent events pushed from the engine's commits (``task:committed`` on
the event bus, :mod:`apflow.core.bus`).
Everything it reads or changes goes through :class:`apflow.service.Service`, as for the
CLI and the MCP server.
"""

from apflow.ui.app import create_app

__all__ = ["create_app"]
