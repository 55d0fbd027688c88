"""Loggers under the ``apflow`` namespace.

Library convention: we add no handlers on import; the CLI (or the application)
configures them with :func:`configure_logging`.
"""

from __future__ import annotations

import logging
import sys

ROOT = "apflow"
logging.getLogger(ROOT).addHandler(logging.NullHandler())


def get_logger(name: str | None = None) -> logging.Logger:
    """Return a standard logger below ``apflow`` (``apflow.x`` stays as is)."""
    if not name or name == ROOT:
        return logging.getLogger(ROOT)
    if name == ROOT or name.startswith(ROOT + "."):
        return logging.getLogger(name)
    return logging.getLogger(f"{ROOT}.{name}")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (test runners swap it)."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(verbosity: int = 0) -> None:
    """Attach one stderr handler to the ``apflow`` logger (used by the CLI).

    The level lives on our handler; the logger's own level is raised only when more
    verbosity is asked for, so an embedding application's log capture keeps working.
    """
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logger = logging.getLogger(ROOT)
    logger.setLevel(logging.NOTSET if verbosity <= 0 else level)
    handler = next((h for h in logger.handlers if getattr(h, "_apflow_cli", False)), None)
    if handler is None:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._apflow_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    handler.setLevel(level)
