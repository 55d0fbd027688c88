"""The generate_task_tree tool: run the generator, relaying its phases as MCP progress."""

from __future__ import annotations

import asyncio
from typing import Any

from apflow.core.utils.logger import get_logger
from apflow.service import GenerateView, Service

logger = get_logger(__name__)


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
    svc: Service,
    ctx: Any,
    requirement: str,
    *,
    mode: str = "single_shot",
    executors: list[str] | None = None,
    run: bool = False,
    user_id: str | None = None,
) -> GenerateView:
    """Generate a tree (progress per generator event), and store and run it (under
    ``user_id``) when asked."""
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
        return await svc.generate(
            requirement,
            mode=mode,
            executors=executors,
            on_event=queue.put_nowait,
            run=run,
            user_id=user_id,
        )
    finally:
        queue.put_nowait(None)
        await relaying
