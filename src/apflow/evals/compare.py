"""Compare two eval reports: headline deltas and the cases that got worse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from apflow.core.errors import ConfigError
from apflow.evals.report import HEADLINE

#: Per-case fields where a drop from A to B is a regression.
CASE_FIELDS = ("node_f1", "edge_f1", "param_name_f1", "param_value_f1", "valid", "executable")
#: Headline metrics where lower is better (a rise is the regression).
LOWER_IS_BETTER = {
    "generation_errors",
    "fixes_per_case",
    "reasks_per_case",
    "llm_calls_per_case",
    "prompt_tokens_per_case",
    "completion_tokens_per_case",
    "seconds_median",
    "seconds_p90",
}


def load_report(path: str | Path) -> dict[str, Any]:
    """A report.json written by ``apflow eval run``; a clear error for anything else."""
    p = Path(path)
    if p.is_dir():
        p = p / "report.json"
    try:
        report = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"report not found: {p}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{p} is not JSON: {exc.msg}") from None
    if not isinstance(report, dict) or not {"meta", "aggregate", "cases"} <= set(report):
        raise ConfigError(
            f"{p} is not an eval report (needs meta, aggregate, cases)",
            hint="pass the report.json files written by `apflow eval run --out DIR`",
        )
    return report


def compare_reports(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Headline rows ``(metric, a, b, delta, worse)`` and per-case regressions."""
    rows = []
    for key, label in HEADLINE:
        va, vb = a["aggregate"].get(key), b["aggregate"].get(key)
        if not isinstance(va, (int, float)) or not isinstance(vb, (int, float)):
            continue
        delta = round(vb - va, 4)
        worse = delta > 0 if key in LOWER_IS_BETTER else delta < 0
        rows.append({"metric": label, "key": key, "a": va, "b": vb, "delta": delta, "worse": worse})
    a_cases = {c["id"]: c for c in a["cases"]}
    regressions = []
    for case in b["cases"]:
        before = a_cases.get(case["id"])
        if before is None:
            continue
        drops = {
            f: [before[f], case[f]]
            for f in CASE_FIELDS
            if f in before and f in case and float(case[f]) < float(before[f])
        }
        if drops:
            regressions.append({"id": case["id"], "drops": drops})
    shared = len(set(a_cases) & {c["id"] for c in b["cases"]})
    return {
        "a": a["meta"],
        "b": b["meta"],
        "rows": rows,
        "shared_cases": shared,
        "regressions": regressions,
    }
