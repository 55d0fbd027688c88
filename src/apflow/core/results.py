"""Normalising what executors return into the standard result dict."""

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


def from_exception(exc: BaseException) -> dict[str, Any]:
    retryable = (
        isinstance(exc, (ConnectionError, TimeoutError))
        or type(exc).__name__ in _RETRYABLE_NAMES
        or bool(getattr(exc, "retryable", False))
    )
    message = str(exc) or type(exc).__name__
    return {
        "status": "failed",
        "error": message,
        "error_type": type(exc).__name__,
        "retryable": retryable,
    }


def normalize(raw: Any) -> dict[str, Any]:
    """Return ``{"status", "result", "meta", "error", "error_type", "retryable"}``.

    A completed dict's payload is its ``result`` key, or every key but ``status`` when
    it has none (the guide's executors return ``{"status": ..., "data": ...}``).
    """
    if not isinstance(raw, dict):
        return {
            "status": "failed",
            "error": f"executor returned {type(raw).__name__}, expected a dict with a 'status'",
            "error_type": "invalid_result",
            "retryable": False,
        }
    status = raw.get("status", "completed")
    if status == "failed":
        meta = {k: v for k, v in raw.items() if k not in {"status", "error", "error_type"}}
        return {
            "status": "failed",
            "error": str(raw.get("error") or "executor reported failure without an error message"),
            "error_type": str(raw.get("error_type") or "execution_error"),
            "retryable": bool(raw.get("retryable", False)),
            "meta": meta or None,
        }
    if status != "completed":
        return {
            "status": "failed",
            "error": f"executor returned status {status!r}; expected 'completed' or 'failed'",
            "error_type": "invalid_result",
            "retryable": False,
        }
    if "result" in raw:
        meta = {k: v for k, v in raw.items() if k not in {"status", "result"}}
        return {"status": "completed", "result": raw["result"], "meta": meta or None}
    return {"status": "completed", "result": {k: v for k, v in raw.items() if k != "status"}}
