"""Executors for the tests that run over both runners (in process and on Dask workers).

They live in an importable module, so a Dask worker process imports them by reference,
as it would a user's package. Anything they need to tell the test travels in the result
or in a file: a worker is another process, so shared Python objects are not shared.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from apflow.core.executor import BaseTask


class Echo(BaseTask):
    id = "rt_echo"
    description = "Returns inputs['value'] (default: what it saw) after inputs['sleep'] seconds."

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if inputs.get("sleep"):
            await asyncio.sleep(inputs["sleep"])
        if "value" in inputs:
            return {"status": "completed", "result": inputs["value"]}
        context = self.context
        return {
            "status": "completed",
            "result": {
                "name": context.task.name if context else None,
                "dependencies": sorted(d.key for d in context.dependencies) if context else [],
                "inputs": inputs,
                "pid": os.getpid(),
            },
        }


class Fail(BaseTask):
    id = "rt_fail"
    description = "Fails with inputs['error_type'], or raises inputs['raise'], or returns junk."

    async def execute(self, inputs: dict[str, Any]) -> Any:
        if inputs.get("raise"):
            raise ValueError(inputs["raise"])
        if inputs.get("junk"):
            return "not a dict"
        return {"status": "failed", "error": "it broke", "error_type": inputs.get("error_type")}


class Flaky(BaseTask):
    id = "rt_flaky"
    description = "Fails (retryable) until it has been called inputs['succeed_on'] times."

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        counter = Path(inputs["counter"])
        with counter.open("a") as f:
            f.write("x")
        calls = len(counter.read_text())
        if calls < inputs["succeed_on"]:
            return {"status": "failed", "error": "busy", "error_type": "busy", "retryable": True}
        return {"status": "completed", "result": calls}


class Sleep(BaseTask):
    id = "rt_sleep"
    description = "Notes its pid in inputs['started'], sleeps, notes a cancel in inputs['stopped']"

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if inputs.get("started"):
            Path(inputs["started"]).write_text(str(os.getpid()))
        try:
            await asyncio.sleep(inputs["seconds"])
        except asyncio.CancelledError:
            if inputs.get("stopped"):
                Path(inputs["stopped"]).write_text(repr(time.time()))
            raise
        return {"status": "completed", "result": os.getpid()}


class Big(BaseTask):
    id = "rt_big"
    description = "Returns a string of inputs['mb'] megabytes."

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"status": "completed", "result": "x" * (inputs["mb"] << 20)}


ALL = [Echo, Fail, Flaky, Sleep, Big]
