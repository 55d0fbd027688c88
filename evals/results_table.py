"""Print the RESULTS.md table from evals/results/*/report.json (one row per recorded run).

python evals/results_table.py > /tmp/table.md
"""

from __future__ import annotations

import json
from pathlib import Path

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
    ("seconds_median", "s median"),
    ("seconds_p90", "s p90"),
]
SUITES = ["builtin", "nestful-dev", "seal-tools-dev"]
MODES = ["baseline", "single-shot", "multi-phase"]


def rows() -> list[str]:
    reports = []
    for path in sorted(RESULTS.glob("*/report.json")):
        report = json.loads(path.read_text())
        meta = report["meta"]
        key = (
            SUITES.index(meta["suite"]) if meta["suite"] in SUITES else 9,
            MODES.index(meta["mode"]) if meta["mode"] in MODES else 9,
        )
        reports.append((key, path.parent.name, report))
    header = "| suite | mode | cases | " + " | ".join(label for _, label in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 3)]
    commands = []
    for _key, name, report in sorted(reports, key=lambda r: r[0]):
        meta, agg = report["meta"], report["aggregate"]
        cells = [meta["suite"], meta["mode"], f"{meta['cases_run']}"]
        for key, _label in COLUMNS:
            value = agg.get(key, "")
            if key.endswith("_rate"):
                cells.append(f"{value:.0%}")
            elif isinstance(value, float):
                cells.append(f"{value:.3f}" if value < 10 else f"{value:.0f}")
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
        commands.append(
            f"- {meta['suite']} / {meta['mode']} (`evals/results/{name}/`): "
            f"`{meta.get('command') or '?'}`"
        )
    return lines + ["", "Commands:", ""] + commands


if __name__ == "__main__":
    print("\n".join(rows()))
