"""Run an eval suite: per case, generate a tree with the case's tools, then measure it.

Each case gets an isolated registry (its tools as simulated executors, plus the aggregator
root); the global registry is never touched. Records accumulate in a :class:`SuiteResults`
so an interrupted run still has everything measured so far.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apflow.core.errors import ConfigError, GenerationError, LLMError
from apflow.evals.cassette import CassetteMiss
from apflow.evals.executable import ExecutabilityChecker
from apflow.evals.metrics import score_case
from apflow.evals.predict import predicted_tasks, tree_tasks
from apflow.evals.simulate import case_registry
from apflow.llm.base import CountingClient, LLMClient


def normalise_mode(mode: str) -> str:
    """Either spelling -> the CLI spelling (``single-shot``), which reports and folders use."""
    from apflow.generator import GenerationMode

    try:
        return GenerationMode.parse(mode).cli_name
    except GenerationError as exc:
        raise ConfigError(f"unknown eval mode {mode!r}", hint=exc.hint) from None


@dataclass
class SuiteResults:
    """Everything one eval run measured; filled in as cases finish."""

    suite: str
    mode: str
    model: str
    cases_total: int
    records: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    started: float = field(default_factory=time.time)


async def _generate(case: dict[str, Any], mode: str, registry: Any, client: LLMClient) -> Any:
    from apflow.generator import generate_tree
    from apflow.spec import ExecutorPolicy

    # Every executor here is simulated and the case's tool list is what the user allowed,
    # so nothing in it (command_executor included) is off limits.
    return await generate_tree(
        case["request"],
        mode=mode,
        registry=registry,
        client=client,
        executors=[t["name"] for t in case["tools"]],
        policy=ExecutorPolicy(),
    )


def _reasks(attempts: list[Any]) -> int:
    phases = [a.get("phase") if isinstance(a, dict) else getattr(a, "phase", "") for a in attempts]
    return sum(p == "repair" for p in phases)


async def run_case(
    case: dict[str, Any], mode: str, client: LLMClient, runner: ExecutabilityChecker
) -> dict[str, Any]:
    """Generate, validate, execute and score one case; a per-case failure is recorded."""
    from apflow.spec import ExecutorPolicy, validate_tree

    registry = case_registry(case["tools"])
    counting = CountingClient(client)
    record: dict[str, Any] = {"id": case["id"], "request": case["request"], "status": "ok"}
    record["pattern"] = (case.get("meta") or {}).get("pattern") or case.get("source", "")
    # the 1-minute load average as the case starts: wall times on a shared machine mean
    # little without it
    load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    started = time.perf_counter()
    tree: Any = []
    fixes, attempts = [], []
    try:
        result = await _generate(case, mode, registry, counting)
        tree, fixes, attempts = result.tree, list(result.fixes), list(result.attempts)
    except CassetteMiss:
        raise  # replaying must never fall back to anything: stop the run
    except GenerationError as exc:
        attempts = list(exc.attempts)
        if mode == "baseline" and isinstance(exc.last_tree, list):
            tree = exc.last_tree  # the baseline takes the answer as it comes, invalid or not
        else:
            record["status"] = "generation_error"
            record["error"] = str(exc)[:500]
            record["last_tree"] = exc.last_tree
    except LLMError as exc:
        record["status"] = "error"
        record["error"] = str(exc)[:500]
    record["seconds"] = round(time.perf_counter() - started, 3)
    tasks = tree_tasks(tree)
    record["tree"] = tasks
    record["predicted"] = predicted_tasks(tasks) if record["status"] == "ok" else []
    record["gold"] = case["gold"]["tasks"]
    record.update(score_case(case, record["predicted"]).to_dict())
    valid = False
    if record["status"] == "ok":
        report = validate_tree(tasks, registry, policy=ExecutorPolicy())
        valid = report.valid
        record["issues"] = sorted({i.code for i in report.issues})
    record["valid"] = valid
    record["executable"] = False
    if valid:
        check = await runner.check(tasks, registry)
        record["executable"] = check.executable
        if check.detail:
            record["exec_detail"] = check.detail
    record["fixes"] = len(fixes)
    record["reasks"] = _reasks(attempts)
    record["llm_calls"] = counting.calls
    record["prompt_tokens"] = counting.prompt_tokens
    record["completion_tokens"] = counting.completion_tokens
    record["forced_tokens"] = counting.forced_tokens
    record["decoded_tokens"] = counting.completion_tokens - counting.forced_tokens
    record["load_average"] = load
    return record


async def run_suite(
    run: SuiteResults,
    cases: list[dict[str, Any]],
    client: LLMClient,
    *,
    workdir: str | Path,
    concurrency: int = 1,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> SuiteResults:
    """Run every case (``concurrency`` at a time), appending records to ``run`` as they finish."""
    if concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    mode = normalise_mode(run.mode)
    runner = ExecutabilityChecker(workdir)
    gate = asyncio.Semaphore(concurrency)
    order = {c["id"]: i for i, c in enumerate(cases)}

    async def one(case: dict[str, Any]) -> None:
        async with gate:
            record = await run_case(case, mode, client, runner)
        run.records.append(record)
        if on_record is not None:
            on_record(record)

    try:
        await asyncio.gather(*(one(c) for c in cases))
    except (asyncio.CancelledError, KeyboardInterrupt):
        run.interrupted = True
        raise
    finally:
        run.records.sort(key=lambda r: order.get(r["id"], 0))
        await runner.close()
    return run
