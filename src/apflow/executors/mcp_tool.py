"""mcp_tool_executor: call one tool on an MCP server, over stdio or streamable HTTP.

Uses the official ``mcp`` SDK client (imported lazily: it is heavy). A stdio server is a
program apflow starts, so ``command`` must be listed in ``APFLOW_MCP_ALLOWLIST`` (a tree
written by a model must not start arbitrary programs); the child gets the SDK's minimal
environment plus ``env``. HTTP servers go through the same SSRF guard as ``rest_executor``.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from typing import Any

from apflow.core.executor import BaseTask, Effect, completed, failed
from apflow.core.settings import ENV_NAMES, settings
from apflow.executors._net import NetError, check_url, guarded_client, redact_url
from apflow.executors.command import resolve_program, unsafe_env_keys

ALLOWLIST_ENV = ENV_NAMES["mcp_allowlist"]
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}


def stdio_refusal(command: str) -> str | None:
    allowed = set(settings().mcp_allowlist)
    if command in allowed:
        return None
    shown = ", ".join(sorted(allowed)) or "nothing"
    return (
        f"starting MCP server {command!r} is not allowed; add it to {ALLOWLIST_ENV} "
        f"(allowed: {shown})"
    )


#: MCP tool names that say the call only reads. At generation time the server cannot be asked
#: for its ``readOnlyHint``, so any other tool counts as a write (the safe side).
_READ_TOOL = re.compile(
    r"^(get|list|search|find|read|fetch|query|lookup|look_up|describe|show|count|check|"
    r"browse|view|status|retrieve|inspect)(?:$|[_\-A-Z.\d])",
    re.IGNORECASE,
)


class McpToolExecutor(BaseTask):
    id = "mcp_tool_executor"
    effects = "write"
    effects_note = (
        "write unless the tool's name says it only reads (get_, list_, search, find, read, "
        "fetch, query, lookup, describe, show, count...): the server is not asked before a run"
    )
    unasked_inputs = ("headers", "env", "cwd")
    name = "MCP tool call"
    description = (
        "Call one tool on an MCP server, started with command+args (stdio) or reached at a "
        "streamable-HTTP url; returns the tool's structured result and its text."
    )
    #: Offered to the generator only when the request speaks of MCP or a tool: otherwise a
    #: small model reaches for it as a generic "enrich" step.
    offer_when = r"\bmcp|model context protocol|\btools?\b"
    input_schema = {
        "type": "object",
        "required": ["tool"],
        "properties": {
            "tool": {"type": "string", "minLength": 1, "description": "tool name"},
            "arguments": {"type": "object", "description": "tool arguments"},
            "url": {"type": "string", "description": "streamable-HTTP endpoint, e.g. .../mcp"},
            "headers": {**_STRING_MAP, "description": "HTTP headers, e.g. Authorization"},
            "command": {"type": "string", "description": "stdio server program, e.g. npx"},
            "args": {"type": "array", "items": {"type": "string"}, "description": "its args"},
            "env": {**_STRING_MAP, "description": "extra environment for the stdio server"},
            "cwd": {"type": "string", "description": "working directory of the stdio server"},
            "timeout": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 3600,
                "default": 60,
                "description": "seconds for connecting and the call together",
            },
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "structured": {"description": "the tool's structured content, or null"},
            "text": {"type": "string", "description": "text blocks of the result, joined"},
            "other": {
                "type": "array",
                "description": "non-text blocks (image, resource...) as {type, mime_type}",
            },
        },
    }

    def effect(self, inputs: dict[str, Any]) -> Effect:
        tool = inputs.get("tool") if isinstance(inputs, dict) else None
        if isinstance(tool, str) and _READ_TOOL.match(tool):
            return Effect.READ
        return Effect.WRITE

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        invalid = self.validate_inputs(inputs)
        if invalid:
            return invalid
        if ("url" in inputs) == ("command" in inputs):
            return failed("give exactly one of url (HTTP) or command (stdio)", "validation_error")
        timeout = float(inputs.get("timeout", 60))
        errlog = tempfile.TemporaryFile("w+") if "command" in inputs else None
        statuses: list[int] = []  # HTTP error statuses seen; the SDK's errors omit them
        try:
            transport = await _transport(inputs, timeout, errlog, statuses)
            if isinstance(transport, dict):
                return transport
            async with asyncio.timeout(timeout):
                result = await _call(
                    transport, inputs["tool"], inputs.get("arguments") or {}, timeout
                )
        except TimeoutError:
            return failed(
                f"MCP tool {inputs['tool']!r} did not answer within {timeout}s" + _tail(errlog),
                "timeout",
                retryable=True,
            )
        except Exception as exc:  # SDK errors arrive wrapped in exception groups
            leaf = _leaf(exc)
            if isinstance(leaf, NetError):
                return failed(str(leaf), leaf.error_type, retryable=leaf.retryable)
            where = inputs.get("command") or redact_url(inputs.get("url", ""))
            status = f"; server answered HTTP {statuses[-1]}" if statuses else ""
            return failed(
                f"MCP call to {where} failed: {type(leaf).__name__}: {leaf}{status}"
                + _tail(errlog),
                "mcp_error",
                retryable=isinstance(leaf, (OSError, ConnectionError))
                or any(code == 429 or code >= 500 for code in statuses),
            )
        finally:
            if errlog is not None:
                errlog.close()
        text = "\n".join(b.text for b in result.content if getattr(b, "type", "") == "text")
        if result.is_error:
            return failed(f"tool {inputs['tool']!r} failed: {text or 'no details'}", "tool_error")
        other = [
            {"type": b.type, "mime_type": getattr(b, "mime_type", None)}
            for b in result.content
            if getattr(b, "type", "") != "text"
        ]
        return completed({"structured": result.structured_content, "text": text, "other": other})


async def _transport(
    inputs: dict[str, Any], timeout: float, errlog: Any, statuses: list[int]
) -> Any:
    """The SDK transport for the inputs, or a failed result dict when refused."""
    if "command" in inputs:
        reason = stdio_refusal(inputs["command"])
        if reason:
            return failed(reason, "disallowed")
        unsafe = unsafe_env_keys(inputs.get("env"))
        if unsafe:
            return failed(f"env may not set {', '.join(unsafe)}", "disallowed")
        program = resolve_program(inputs["command"])
        if program is None:
            return failed(f"MCP server program {inputs['command']!r} not found", "not_found")
        from mcp.client.stdio import stdio_client

        from mcp import StdioServerParameters

        params = StdioServerParameters(
            command=program,
            args=inputs.get("args") or [],
            env=inputs.get("env"),
            cwd=inputs.get("cwd"),
        )
        return stdio_client(params, errlog=errlog)
    try:
        await check_url(inputs["url"])
    except NetError as exc:
        return failed(str(exc), exc.error_type, retryable=exc.retryable)
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    async def note_status(response: Any) -> None:
        if response.status_code >= 400:
            statuses.append(response.status_code)

    http = guarded_client(
        httpx2,
        headers=inputs.get("headers"),
        timeout=httpx2.Timeout(timeout),
        event_hooks={"response": [note_status]},
    )
    return _OwnedClient(streamable_http_client(inputs["url"], http_client=http), http)


class _OwnedClient:
    """Closes our httpx2 client with the transport (the SDK leaves a passed client open)."""

    def __init__(self, transport: Any, http: Any) -> None:
        self.transport, self.http = transport, http

    async def __aenter__(self) -> Any:
        return await self.transport.__aenter__()

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self.transport.__aexit__(*exc)
        finally:
            await self.http.aclose()


async def _call(transport: Any, tool: str, arguments: dict[str, Any], timeout: float) -> Any:
    from mcp import Client

    async with Client(transport, read_timeout_seconds=timeout) as client:
        return await client.call_tool(tool, arguments)


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _tail(errlog: Any, limit: int = 500) -> str:
    """The end of a stdio server's stderr, for error messages."""
    if errlog is None:
        return ""
    try:
        errlog.seek(0)
        text = errlog.read().strip()
    except (OSError, ValueError):
        return ""
    return f"; server stderr: ...{text[-limit:]}" if text else ""
