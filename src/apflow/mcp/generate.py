"""The generate_task_tree tool: run the generator, relaying its phases as MCP progress."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from apflow.core.utils.logger import get_logger
from apflow.mcp.schemas import GenerateOut
from apflow.mcp.service import TreeService

logger = get_logger(__name__)


def as_dict(value: Any) -> dict[str, Any]:
    """Stats may be a dict, a dataclass or a pydantic model; the tool returns a dict."""
    if value is None:
        return {}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return dict(value)


def event_message(event: Any) -> str:
    """``phase: status (detail)`` for one GenerationEvent."""
    phase = getattr(event, "phase", "") or "generate"
    status = getattr(event, "status", "") or ""
    detail = getattr(event, "detail", None)
    text = f"{phase}: {status}" if status else str(phase)
    if isinstance(detail, str) and detail:
        text += f" ({detail[:120]})"
    return text


async def generate(
    svc: TreeService,
    ctx: Any,
    requirement: str,
    *,
    mode: str = "single_shot",
    executors: list[str] | None = None,
    run: bool = False,
    user_id: str | None = None,
) -> GenerateOut:
    """Generate a tree (progress per generator event), and store and run it (under
    ``user_id``) when asked."""
    from apflow.generator import generate_tree

    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def relay() -> None:
        sent = 0
        while (event := await queue.get()) is not None:
            sent += 1
            try:
                await ctx.report_progress(sent, None, event_message(event))
            except Exception:  # a client that cannot take progress must not fail the tool
                logger.debug("progress notification failed", exc_info=True)

    relaying = asyncio.create_task(relay())
    try:
        result = await generate_tree(
            requirement,
            mode=mode,
            model=svc.model,
            registry=svc.registry,
            executors=executors,
            on_event=queue.put_nowait,
        )
    finally:
        queue.put_nowait(None)
        await relaying
    out = GenerateOut(
        tasks=result.tree.to_list(),
        mode=str(result.mode),
        model=str(result.model),
        fixes=[str(f) for f in result.fixes or []],
        stats=as_dict(result.stats),
    )
    if run:
        out.run = await svc.run(result.tree, wait=True, user_id=user_id)
    return out
