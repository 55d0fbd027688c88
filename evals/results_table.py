"""Print the RESULTS.md table from evals/results/*/report.json (one row per recorded run).

python evals/results_table.py > /tmp/table.md
python evals/results_table.py --common          # each suite cut to the cases every row ran
python evals/results_table.py --min-steps 3     # only cases whose gold tree has 3+ tasks
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from apflow.evals.report import summarise

RESULTS = Path(__file__).parent / "results"
COLUMNS = [
    ("node_f1", "node F1"),
    ("edge_f1", "edge F1"),
    ("param_name_f1", "p-name F1"),
    ("param_value_f1", "p-value F1"),
    ("exact_tool_set_rate", "exact set"),
    ("valid_tree_rate", "valid"),
    ("executable_rate", "exec"),
    ("generation_errors", "gen err"),
    ("fixes_per_case", "fixes"),
    ("reasks_per_case", "re-asks"),
    ("llm_calls_per_case", "calls"),
    ("prompt_tokens_per_case", "prompt tok"),
    ("completion_tokens_per_case", "compl tok"),
    ("forced_tokens_per_case", "forced tok"),
    ("seconds_median", "s median"),
    ("seconds_p90", "s p90"),
    ("load_average_median", "load"),
]
SUITES = ["builtin", "user-dev", "nestful-dev", "seal-tools-dev"]
MODES = ["baseline", "single-shot", "multi-phase"]


def _load() -> list[tuple[tuple[int, int], str, dict]]:
    reports = []
    for path in sorted(RESULTS.glob("*/report.json")):
        report = json.loads(path.read_text())
        meta = report["meta"]
        key = (
            SUITES.index(meta["suite"]) if meta["suite"] in SUITES else 9,
            MODES.index(meta["mode"]) if meta["mode"] in MODES else 9,
        )
        reports.append((key, path.parent.name, report))
    return sorted(reports, key=lambda r: r[0])


def _row(suite: str, mode: str, cases: int, agg: dict) -> str:
    cells = [suite, mode, str(cases)]
    for key, _label in COLUMNS:
        value = agg.get(key, "")
        if value is None:
            value = ""
        if key.endswith("_rate"):
            cells.append(f"{value:.0%}")
        elif isinstance(value, float):
            cells.append(f"{value:.3f}" if value < 10 else f"{value:.0f}")
        else:
            cells.append(str(value))
    return "| " + " | ".join(cells) + " |"


def _gold_steps(record: dict) -> int:
    gold = record.get("gold")
    tasks = gold.get("tasks") if isinstance(gold, dict) else gold
    return len(tasks or [])


def rows(common: bool = False, min_steps: int = 0) -> list[str]:
    """One row per recorded run; with ``common``, each suite cut to the cases every mode ran;
    with ``min_steps``, to the cases whose gold tree has at least that many tasks."""
    reports = _load()
    shared: dict[str, set[str]] = {}
    for _key, _name, report in reports:
        ids = {c["id"] for c in report["cases"]}
        suite = report["meta"]["suite"]
        shared[suite] = shared[suite] & ids if suite in shared else ids
    header = "| suite | mode | cases | " + " | ".join(label for _, label in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 3)]
    commands = []
    for _key, name, report in reports:
        meta = report["meta"]
        records = report["cases"]
        if common:
            records = [c for c in records if c["id"] in shared[meta["suite"]]]
        if min_steps:
            records = [c for c in records if _gold_steps(c) >= min_steps]
        if not records:
            continue
        lines.append(_row(meta["suite"], meta["mode"], len(records), summarise(records)))
        model = meta["model"].removeprefix("replay:")
        command = (
            f"apflow eval run {meta['suite']} --model {model} --mode {meta['mode']} "
            f"--limit {meta['limit']} --record evals/cassettes/{name}.jsonl "
            f"--out evals/results/{name}"
        )
        commands.append(
            f"- {meta['suite']} / {meta['mode']} (`evals/results/{name}/`): `{command}`"
        )
    cut = common or min_steps
    return lines if cut else lines + ["", "Commands:", ""] + commands


if __name__ == "__main__":
    steps = int(sys.argv[sys.argv.index("--min-steps") + 1]) if "--min-steps" in sys.argv else 0
    print("\n".join(rows(common="--common" in sys.argv, min_steps=steps)))
