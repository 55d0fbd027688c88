"""The default runner: executors run as coroutines on the engine's own event loop."""

from __future__ import annotations

from typing import Any

from apflow.core.runners.base import (
    Attempt,
    ExecutorRunner,
    Invoke,
    execute_attempt,
    invoke_executor,
)


class LocalRunner(ExecutorRunner):
    """In-process asyncio execution; cancelling the attempt cancels the coroutine.

    ``invoke`` replaces the call of ``executor.execute`` (tests, instrumentation).
    """

    def __init__(self, invoke: Invoke = invoke_executor) -> None:
        self.invoke = invoke

    async def run(self, attempt: Attempt) -> dict[str, Any]:
        return await execute_attempt(attempt.executor, attempt.inputs, attempt.timeout, self.invoke)

    def __repr__(self) -> str:
        return "LocalRunner()"
