"""The web console, ``apflow serve ui``: describe, watch and steer trees in a browser.

A Starlette app (:func:`create_app`) serving one static page and a JSON API; live tree
updates are server-sent events pushed from the engine's commits (:mod:`apflow.core.events`).
Everything it reads or changes goes through :class:`~apflow.ui.backend.Backend`.
"""

from apflow.ui.app import create_app
from apflow.ui.backend import Backend

__all__ = ["Backend", "create_app"]
