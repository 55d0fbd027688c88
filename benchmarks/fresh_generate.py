"""What a user pays for ``apflow generate`` with the embedded model: one fresh process a call.

Runs ``apflow generate REQUEST --model local --json -o FILE`` in a new process for each of the
first N requests of an eval suite (default: builtin), in file order, and records the wall
time of each process, the LLM calls, the model's own phase seconds and the 1-minute load
average before each call. The first call of a cold run also evaluates and stores the system
prompt states (see ``apflow.llm.prompt_states``); ``--cold`` starts from an empty state folder
to show that cost, otherwise the folder the user already has is used.

    python benchmarks/fresh_generate.py --limit 20
    python benchmarks/fresh_generate.py --suite user-dev --limit 20 --mode multi-phase
    python benchmarks/fresh_generate.py --limit 20 --cold --json

Prints one row per call, then the median, p90, and the first, second and tenth call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
APFLOW = [sys.executable, "-m", "apflow"]


def requests(suite: str, limit: int) -> list[tuple[str, str]]:
    from apflow.evals.datasets import load_dataset

    return [(c["id"], c["request"]) for c in load_dataset(suite)[:limit]]


def one_call(request: str, mode: str, env: dict[str, str], out: Path) -> dict[str, object]:
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(
        [
            *APFLOW,
            "generate",
            request,
            "--model",
            "local",
            "--mode",
            mode,
            "--json",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - started
    row: dict[str, object] = {
        "seconds": round(wall, 2),
        "load": round(load, 2),
        "ok": not done.returncode,
    }
    if done.returncode == 0:
        payload = json.loads(done.stdout)
        stats = payload.get("stats") or {}
        row["llm_calls"] = stats.get("llm_calls")
        row["model_seconds"] = round(sum((stats.get("seconds_by_phase") or {}).values()), 2)
        row["tasks"] = len(payload.get("tasks") or [])
    else:
        row["error"] = (done.stderr or done.stdout).strip().splitlines()[-1:]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="builtin")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--mode", default="single-shot")
    parser.add_argument("--cold", action="store_true", help="start with no stored prompt states")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        if args.cold:
            env["APFLOW_LOCAL_STATE_DIR"] = str(Path(tmp) / "states")
        rows = []
        for number, (case_id, request) in enumerate(requests(args.suite, args.limit), 1):
            row = {
                "n": number,
                "case": case_id,
                **one_call(request, args.mode, env, Path(tmp) / "t.json"),
            }
            rows.append(row)
            if not args.json:
                print(json.dumps(row), flush=True)
    seconds = [float(r["seconds"]) for r in rows if r["ok"]]
    summary = {
        "suite": args.suite,
        "mode": args.mode,
        "calls": len(rows),
        "failed": sum(1 for r in rows if not r["ok"]),
        "median_s": round(statistics.median(seconds), 2) if seconds else None,
        "p90_s": round(sorted(seconds)[int(0.9 * (len(seconds) - 1))], 2) if seconds else None,
        "first_s": rows[0]["seconds"] if rows else None,
        "second_s": rows[1]["seconds"] if len(rows) > 1 else None,
        "tenth_s": rows[9]["seconds"] if len(rows) > 9 else None,
        "load_median": round(statistics.median(float(r["load"]) for r in rows), 2)
        if rows
        else None,
        "cold": args.cold,
    }
    print(json.dumps({"summary": summary, "rows": rows} if args.json else summary, indent=None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
