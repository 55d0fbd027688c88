"""The standard result dict: building it, and normalising what executors return into it.

Every outcome the engine records is built here (``completed``, ``failed``,
``cancelled``), so a result has one shape whoever produced it.
"""

from __future__ import annotations

from typing import Any

_RETRYABLE_NAMES = {
    "ConnectError",
    "ConnectTimeout",
    "ReadTimeout",
    "WriteTimeout",
    "PoolTimeout",
    "RemoteProtocolError",
    "ReadError",
}


def completed(result: Any, **extra: Any) -> dict[str, Any]:
    """The standard success result dict."""
    return {"status": "completed", "result": result, **extra}


def failed(error: str, error_type: str = "execution_error", **extra: Any) -> dict[str, Any]:
    """The standard failure result dict."""
    return {"status": "failed", "error": error, "error_type": error_type, **extra}


def cancelled(reason: str) -> dict[str, Any]:
    """The outcome of a task stopped (or never started) because its tree was cancelled."""
    return {"status": "cancelled", "error": reason, "error_type": "cancelled"}


def from_exception(exc: BaseException) -> dict[str, Any]:
    retryable = (
        isinstance(exc, (ConnectionError, TimeoutError))
        or type(exc).__name__ in _RETRYABLE_NAMES
        or bool(getattr(exc, "retryable", False))
    )
    return failed(str(exc) or type(exc).__name__, type(exc).__name__, retryable=retryable)


def normalize(raw: Any) -> dict[str, Any]:
    """Return ``{"status", "result", "meta", "error", "error_type", "retryable"}``.

    A completed dict's payload is its ``result`` key, or every key but ``status`` when
    it has none (the guide's executors return ``{"status": ..., "data": ...}``).
    """
    if not isinstance(raw, dict):
        return failed(
            f"executor returned {type(raw).__name__}, expected a dict with a 'status'",
            "invalid_result",
            retryable=False,
        )
    status = raw.get("status", "completed")
    if status == "failed":
        # A failure may carry what it did get done as ``result`` (the aggregator does).
        skip = {"status", "error", "error_type", "result"}
        meta = {k: v for k, v in raw.items() if k not in skip}
        return failed(
            str(raw.get("error") or "executor reported failure without an error message"),
            str(raw.get("error_type") or "execution_error"),
            retryable=bool(raw.get("retryable", False)),
            meta=meta or None,
            result=raw.get("result"),
        )
    if status != "completed":
        return failed(
            f"executor returned status {status!r}; expected 'completed' or 'failed'",
            "invalid_result",
            retryable=False,
        )
    if "result" in raw:
        meta = {k: v for k, v in raw.items() if k not in {"status", "result"}}
        return completed(raw["result"], meta=meta or None)
    return completed({k: v for k, v in raw.items() if k != "status"})
