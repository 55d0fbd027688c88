"""A crowd on the MCP HTTP server: many concurrent clients for a fixed time.

Starts ``apflow serve mcp --transport http`` on 127.0.0.1 as a real process (a fresh SQLite
file, the scripted model answering every generation), then drives it with ``--clients`` SDK
clients (``mcp.Client`` over streamable HTTP, one session each) for ``--warmup`` seconds and
then ``--seconds`` seconds. Each client loops over three calls:

- ``validate_task_tree`` on a small tree with one problem,
- ``generate_task_tree`` (the scripted model returns a valid 3-task tree),
- ``run_task_tree`` on a small valid tree (stored and run to completion, ``wait=true``).

Reported (one JSON object): requests/s, p50/p99/max latency per tool and overall, errors
(tool errors and exceptions, with a few messages), and the server's RSS before the first
request, after warm-up, at the end and its peak, sampled once a second from /proc. Only the
measured window counts towards the latencies.

    python benchmarks/load.py --clients 50 --seconds 60 --warmup 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import Client

SMALL_TREE = [
    {
        "id": "report",
        "schemas": {"method": "aggregate_results_executor"},
        "dependencies": ["n", "t"],
    },
    {
        "id": "n",
        "parent_id": "report",
        "schemas": {"method": "transform_executor"},
        "inputs": {"data": [3, 1, 2], "operations": [{"op": "length"}]},
    },
    {
        "id": "t",
        "parent_id": "report",
        "schemas": {"method": "transform_executor"},
        "inputs": {
            "data": {"name": "load"},
            "operations": [{"op": "template", "template": "hello {name}"}],
        },
    },
]
BAD_TREE = [dict(SMALL_TREE[0], dependencies=["n", "t", "ghost"]), *SMALL_TREE[1:]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


class Tally:
    def __init__(self) -> None:
        self.measuring = False
        self.latencies: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.calls_in_warmup = 0

    def record(self, tool: str, seconds: float, error: str | None) -> None:
        if not self.measuring:
            self.calls_in_warmup += 1
            if error:
                self.errors.append(f"(warm-up) {tool}: {error}")
            return
        self.latencies.setdefault(tool, []).append(seconds)
        if error:
            self.errors.append(f"{tool}: {error}")


def check(tool: str, result: Any) -> str | None:
    """Why a tool result is wrong, or None."""
    if result.is_error:
        return (result.content[0].text if result.content else "tool error")[:300]
    data = result.structured_content or {}
    if tool == "validate_task_tree" and data.get("valid") is not False:
        return "the bad tree was called valid"
    if tool == "generate_task_tree" and len(data.get("tasks") or []) != 3:
        return f"generated {len(data.get('tasks') or [])} tasks, expected 3"
    if tool == "run_task_tree" and data.get("status") != "completed":
        return f"run ended {data.get('status')}"
    return None


async def client_loop(url: str, index: int, stop_at: list[float], tally: Tally) -> None:
    calls = [
        ("validate_task_tree", {"tasks": BAD_TREE}),
        ("generate_task_tree", {"requirement": "sort and count three numbers, and greet"}),
        ("run_task_tree", {"tasks": SMALL_TREE}),
    ]
    step = index  # clients start at different calls
    try:
        async with Client(url, read_timeout_seconds=120) as client:
            while time.monotonic() < stop_at[0]:
                tool, args = calls[step % len(calls)]
                step += 1
                started = time.perf_counter()
                try:
                    result = await client.call_tool(tool, args)
                    error = check(tool, result)
                except Exception as exc:  # a failed request is an error to count, not a crash
                    error = f"{type(exc).__name__}: {exc}"[:300]
                tally.record(tool, time.perf_counter() - started, error)
    except Exception as exc:
        tally.errors.append(f"client {index} session: {type(exc).__name__}: {exc}"[:300])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float], seconds: float) -> dict[str, Any]:
    return {
        "requests": len(values),
        "per_s": round(len(values) / seconds, 1),
        "p50_ms": round(statistics.median(values) * 1000, 1) if values else None,
        "p99_ms": round(percentile(values, 0.99) * 1000, 1) if values else None,
        "max_ms": round(max(values) * 1000, 1) if values else None,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="apflow-load-"))
    db = Path(args.db) if args.db else work / "load.db"
    answers = work / "answers.json"
    answers.write_text(json.dumps([SMALL_TREE]))
    port = args.port or free_port()
    server_log = work / "server.log"
    env = {**os.environ, "APFLOW_MODEL": f"scripted:{answers}"}
    for name in ("APFLOW_MCP_TOKEN", "APFLOW_MCP_TOKENS", "APFLOW_MCP_TOKENS_FILE"):
        env.pop(name, None)
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "apflow",
        "--db",
        str(db),
        "serve",
        "mcp",
        "--transport",
        "http",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=server_log.open("w"),
    )
    url = f"http://127.0.0.1:{port}/mcp"
    rss_samples: list[float] = []
    try:
        await wait_for_port(port)
        rss_start = rss_mb(server.pid)
        tally = Tally()
        stop_at = [float("inf")]

        async def sample() -> None:
            while True:
                rss_samples.append(rss_mb(server.pid))
                await asyncio.sleep(1)

        sampler = asyncio.create_task(sample())
        load_before = os.getloadavg()
        clients = [
            asyncio.create_task(client_loop(url, i, stop_at, tally)) for i in range(args.clients)
        ]
        await asyncio.sleep(args.warmup)
        rss_warm = rss_mb(server.pid)
        tally.measuring = True
        started = time.monotonic()
        stop_at[0] = started + args.seconds
        await asyncio.gather(*clients)
        elapsed = time.monotonic() - started
        rss_end = rss_mb(server.pid)
        sampler.cancel()
        load_after = os.getloadavg()
    finally:
        if server.returncode is None:
            server.terminate()
            try:
                await asyncio.wait_for(server.wait(), 15)
            except TimeoutError:
                server.kill()
    stderr = server_log.read_text(errors="replace")
    every = [v for values in tally.latencies.values() for v in values]
    return {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "warmup_s": args.warmup,
        "warmup_requests": tally.calls_in_warmup,
        "overall": summary(every, elapsed),
        "per_tool": {tool: summary(v, elapsed) for tool, v in sorted(tally.latencies.items())},
        "errors": len(tally.errors),
        "error_samples": tally.errors[:5],
        "server_rss_mb": {
            "start": round(rss_start, 1),
            "after_warmup": round(rss_warm, 1),
            "end": round(rss_end, 1),
            "peak": round(max(rss_samples), 1) if rss_samples else None,
            "end_vs_warmup_pct": round(100 * (rss_end - rss_warm) / rss_warm, 1),
            "every_10s": [round(v, 1) for v in rss_samples[::10]],
        },
        "server_log": str(server_log),
        "server_log_errors": stderr.count("Traceback") + stderr.count("ERROR"),
        "loadavg_1m": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--db", default=None, help="SQLite file (default: a new temp file)")
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
