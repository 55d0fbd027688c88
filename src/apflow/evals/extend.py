"""Extending a recorded eval run to more cases without paying for the ones it has.

On the embedded model a dev case costs 30-100 s, so going from 20 recorded cases to 40
should cost 20 cases, not 40. The cases the earlier report holds are replayed from its
cassette (strictly: a request the cassette lacks stops the run) and must reproduce the
recorded result exactly, which proves that prompts, dataset and scoring are unchanged;
their wall times and load averages are taken from the earlier report, since a replay
measures nothing. Only the new cases reach the model, and their exchanges are appended
to the same cassette, so the extended run replays as a whole.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from apflow.core.errors import ConfigError
from apflow.evals.cassette import RecordingClient, ReplayClient
from apflow.evals.compare import load_report
from apflow.evals.suite import SuiteResults, run_suite
from apflow.llm.base import LLMClient

#: What a replayed case must reproduce of its recorded record.
REPRODUCED = ("status", "predicted", "tree")
#: Measured on the machine when the case really ran; a replay cannot measure them.
KEPT_FROM_RECORDING = ("seconds", "load_average")


def previous_records(report_dir: Path, cassette: Path) -> dict[str, dict[str, Any]]:
    """The earlier report's records by case id; both it and its cassette must exist."""
    report = report_dir / "report.json"
    if not report.is_file():
        raise ConfigError(
            f"--extend needs the earlier report, and {report} does not exist",
            hint="point --out at the folder of the run being extended",
        )
    if not cassette.is_file():
        raise ConfigError(
            f"--extend needs the earlier cassette, and {cassette} does not exist",
            hint="point --record at the cassette the earlier run wrote",
        )
    return {r["id"]: r for r in load_report(report)["cases"]}


async def extend_suite(
    run: SuiteResults,
    cases: list[dict[str, Any]],
    client: LLMClient,
    cassette: Path,
    previous: dict[str, dict[str, Any]],
    *,
    workdir: str | Path,
    concurrency: int = 1,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> SuiteResults:
    """Replay the cases ``previous`` holds, run the others on ``client``, in case order."""
    wanted = {c["id"] for c in cases}
    beyond = sorted(set(previous) - wanted)
    if beyond:
        raise ConfigError(
            f"the earlier run has {len(beyond)} case(s) this one would drop (first: {beyond[0]})",
            hint="--extend only adds cases: give a --limit at least as large as before",
        )
    old = [c for c in cases if c["id"] in previous]
    new = [c for c in cases if c["id"] not in previous]
    await run_suite(run, old, ReplayClient(cassette), workdir=workdir, concurrency=concurrency)
    for record in run.records:
        before = previous[record["id"]]
        changed = [k for k in REPRODUCED if record.get(k) != before.get(k)]
        if changed:
            raise ConfigError(
                f"case {record['id']} no longer reproduces its recorded result "
                f"({', '.join(changed)} differ)",
                hint="prompts, dataset or scoring changed since recording: re-record the "
                "whole run without --extend",
            )
        for key in KEPT_FROM_RECORDING:
            record[key] = before.get(key)
        if on_record is not None:
            on_record(record)
    recorder = RecordingClient(client, cassette, append=True)
    await run_suite(
        run, new, recorder, workdir=workdir, concurrency=concurrency, on_record=on_record
    )
    order = {c["id"]: i for i, c in enumerate(cases)}
    run.records.sort(key=lambda r: order[r["id"]])
    return run
