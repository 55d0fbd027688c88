"""Eval reports: aggregate per-case records, write ``report.json`` and ``report.md``."""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path
from typing import Any

from apflow.evals.metrics import METRICS, CaseScore, aggregate

HEADLINE = [
    ("node_f1", "node F1"),
    ("edge_f1", "edge F1"),
    ("param_name_f1", "param-name F1"),
    ("param_value_f1", "param-value F1"),
    ("exact_tool_set_rate", "exact tool set"),
    ("valid_tree_rate", "valid tree"),
    ("executable_rate", "executable"),
    ("generation_errors", "generation errors"),
    ("fixes_per_case", "fixes / case"),
    ("reasks_per_case", "re-asks / case"),
    ("llm_calls_per_case", "LLM calls / case"),
    ("prompt_tokens_per_case", "prompt tokens / case"),
    ("completion_tokens_per_case", "completion tokens / case"),
    ("seconds_median", "seconds median"),
    ("seconds_p90", "seconds p90"),
]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Micro-averaged metrics plus rates, costs and timings over the records."""
    scores = [
        CaseScore({m: r[f"{m}_tp_fp_fn"] for m in METRICS}, r["exact_tool_set"]) for r in records
    ]
    micro = aggregate(scores)
    n = len(records)
    seconds = [r["seconds"] for r in records]
    out: dict[str, Any] = {"cases": n}
    for metric in METRICS:
        out[f"{metric}_f1"] = micro[metric]["f1"]
    out["exact_tool_set_rate"] = round(micro["exact_tool_set"] / n, 4) if n else 0.0
    out["valid_tree_rate"] = _mean([float(r["valid"]) for r in records])
    returned = [r for r in records if r["status"] == "ok"]
    out["valid_tree_rate_of_returned"] = _mean([float(r["valid"]) for r in returned])
    out["executable_rate"] = _mean([float(r["executable"]) for r in records])
    out["generation_errors"] = sum(r["status"] == "generation_error" for r in records)
    out["other_errors"] = sum(r["status"] == "error" for r in records)
    for key in ("fixes", "reasks", "llm_calls", "prompt_tokens", "completion_tokens"):
        out[f"{key}_per_case"] = _mean([r[key] for r in records])
        out[f"{key}_total"] = sum(r[key] for r in records)
    # older reports have neither: forced/decoded tokens and load came with the strict grammar
    for key in ("forced_tokens", "decoded_tokens"):
        known = [r[key] for r in records if key in r]
        out[f"{key}_per_case"] = _mean(known) if known else None
    loads = [r["load_average"] for r in records if r.get("load_average") is not None]
    out["load_average_median"] = round(statistics.median(loads), 2) if loads else None
    out["seconds_median"] = round(statistics.median(seconds), 3) if seconds else 0.0
    out["seconds_p90"] = round(percentile(seconds, 90), 3)
    out["seconds_total"] = round(sum(seconds), 3)
    out["micro"] = micro
    return out


def git_commit() -> str:
    """The checkout's commit (``+dirty`` when modified), or ``unknown`` outside git."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha or "unknown"


def build_report(run: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """The full report: meta (model, mode, commit, dataset hash...), aggregates, records."""
    return {
        "meta": {
            "suite": run.suite,
            "mode": run.mode,
            "model": run.model,
            "git_commit": git_commit(),
            "cases_total": run.cases_total,
            "cases_run": len(run.records),
            "interrupted": run.interrupted,
            **meta,
        },
        "aggregate": summarise(run.records),
        "cases": run.records,
    }


def _task_lines(tasks: list[dict[str, Any]]) -> str:
    if not tasks:
        return "(none)"
    lines = []
    for t in tasks:
        deps = ", ".join(map(str, t.get("depends_on") or []))
        lines.append(f"{t.get('id')}: {t.get('tool')}" + (f" <- {deps}" if deps else ""))
    return "<br>".join(lines).replace("|", "\\|")


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def badness(record: dict[str, Any]) -> tuple:
    """Sort key: invalid first, then lowest mean of node, edge and param-value F1."""
    mean = (record["node_f1"] + record["edge_f1"] + record["param_value_f1"]) / 3
    return (record["valid"], round(mean, 4), record["id"])


def render_markdown(report: dict[str, Any], worst: int = 10) -> str:
    """A page a person reads: what ran, the headline table, the worst cases side by side."""
    meta, agg = report["meta"], report["aggregate"]
    lines = [
        f"# Eval report: {meta['suite']} / {meta['mode']} / {meta['model']}",
        "",
        f"- cases: {meta['cases_run']} of {meta['cases_total']}"
        + (" (interrupted: partial report)" if meta["interrupted"] else ""),
        f"- git commit: `{meta['git_commit']}`; dataset sha256: `{meta.get('dataset_sha256', '')}`",
    ]
    if meta.get("command"):
        lines.append(f"- command: `{meta['command']}`")
    lines += ["", "| metric | value |", "|---|---|"]
    for key, label in HEADLINE:
        lines.append(f"| {label} | {agg.get(key, '')} |")
    lines += ["", f"## {worst} worst cases", ""]
    lines += [
        "| case | F1 node / edge / value | valid | gold | predicted |",
        "|---|---|---|---|---|",
    ]
    for r in sorted(report["cases"], key=badness)[:worst]:
        scores = f"{r['node_f1']:.2f} / {r['edge_f1']:.2f} / {r['param_value_f1']:.2f}"
        status = "yes" if r["valid"] else f"no ({r['status']})"
        case = f"{r['id']}<br>{_short(r.get('request', ''))}"
        gold, predicted = _task_lines(r["gold"]), _task_lines(r["predicted"])
        lines.append(f"| {case} | {scores} | {status} | {gold} | {predicted} |")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], directory: str | Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``directory``; return both paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "report.json", folder / "report.md"
    json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    md_path.write_text(render_markdown(report))
    return json_path, md_path
