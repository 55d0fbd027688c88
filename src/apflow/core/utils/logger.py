"""Loggers under the ``apflow`` namespace.

Library convention: we add no handlers on import; the CLI (or the application)
configures them with :func:`configure_logging`.
"""

from __future__ import annotations

import logging

ROOT = "apflow"
logging.getLogger(ROOT).addHandler(logging.NullHandler())


def get_logger(name: str | None = None) -> logging.Logger:
    """Return a standard logger below ``apflow`` (``apflow.x`` stays as is)."""
    if not name or name == ROOT:
        return logging.getLogger(ROOT)
    if name == ROOT or name.startswith(ROOT + "."):
        return logging.getLogger(name)
    return logging.getLogger(f"{ROOT}.{name}")


def configure_logging(verbosity: int = 0) -> None:
    """Attach one stderr handler to the ``apflow`` logger (used by the CLI)."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logger = logging.getLogger(ROOT)
    logger.setLevel(level)
    if not any(getattr(h, "_apflow_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._apflow_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
