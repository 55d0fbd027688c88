"""Write the apflow suites over apflow's own executors into evals/datasets/.

- ``builtin.jsonl``: the guide's patterns (cases in ``builtin_cases.py``);
- ``user_dev.jsonl``: requests written the way users write them (cases in ``user_cases.py``).

Cases are written compactly; tool schemas come from the live registry
(``apflow.list_executors()``) when an executor is registered, else from the expected
schemas in ``builtin_cases.py``. Every gold task's inputs are checked against its tool's input
schema (references to earlier outputs count as present), every ``depends_on`` must name an
earlier gold task, every use of an output (``$id.field$``, ``sources``) must name a direct
dependency, and a dependency whose output is not used (an ordering edge) may not also be implied
by a path through the others, so drift and slips fail loudly.

    python evals/build_builtin.py            # rewrite both files
    python evals/build_builtin.py --check    # exit 1 if either file is out of date
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import builtin_cases
import guide_cases
import user_cases
from builtin_cases import FALLBACK_SCHEMAS, TOOLS
from jsonschema import Draft202012Validator

DATASETS = Path(__file__).parent / "datasets"
#: (file name, ``source`` of every row, cases, the executors each case offers)
SUITES = [
    ("builtin.jsonl", "apflow_builtin", builtin_cases.CASES, TOOLS),
    ("user_dev.jsonl", "apflow_user", user_cases.CASES, TOOLS),
    ("guide.jsonl", "apflow_guide", guide_cases.CASES, guide_cases.TOOLS),
]
_REF = re.compile(r"\$([A-Za-z0-9_\-]+)(?:\.[^$]*)?\$")


def tool_entries(names: list[str]) -> list[dict]:
    live = {}
    try:
        import apflow

        live = {e["id"]: e for e in apflow.list_executors()}
    except Exception as exc:  # the suite must still build on a partial checkout
        print(f"registry unavailable ({exc}); using expected schemas", file=sys.stderr)
    entries = []
    for name in sorted(names):
        fallback = FALLBACK_SCHEMAS.get(name) or {"description": name, "input_schema": {}}
        source = live.get(name) or {}
        entries.append(
            {
                "name": name,
                "description": (source.get("description") or fallback["description"]).strip(),
                "input_schema": source.get("input_schema") or fallback["input_schema"],
                "output_schema": source.get("output_schema") or fallback.get("output_schema"),
            }
        )
        if source.get("offer_when"):
            entries[-1]["offer_when"] = source["offer_when"]
        if not source:
            print(f"note: {name} is not registered; using its expected schema", file=sys.stderr)
    return entries


def check_inputs(case_id: str, task: dict, tools: dict[str, dict]) -> list[str]:
    schema = dict(tools[task["tool"]]["input_schema"])
    inputs = dict(task["inputs"])
    for key, value in list(inputs.items()):
        if isinstance(value, str) and value.startswith("$") and value.endswith("$"):
            inputs.pop(key)  # a whole-value reference: its type is only known at run time
    schema["required"] = [r for r in schema.get("required", []) if r not in task["inputs"]]
    errors = Draft202012Validator(schema).iter_errors(inputs)
    return [f"{case_id}/{task['id']}: {e.message}" for e in errors]


def check_edges(case_id: str, tasks: list[dict]) -> list[str]:
    """Dependencies name earlier tasks and cover every use of an output; an ordering-only
    dependency (no output used) must not also be implied by a path through the others."""
    problems, earlier, reach = [], set(), {}
    for task in tasks:
        name, deps = f"{case_id}/{task['id']}", task["depends_on"]
        problems += [
            f"{name}: depends on {d}, not an earlier task" for d in deps if d not in earlier
        ]
        uses = set(_REF.findall(json.dumps(task["inputs"]))) | set(
            task["inputs"].get("sources", [])
        )
        problems += [f"{name}: uses {u} without depending on it" for u in sorted(uses - set(deps))]
        implied = {a for d in deps for a in reach.get(d, ())}
        problems += [
            f"{name}: depends on {d} through another dependency too, and uses nothing of it"
            for d in deps
            if d in implied and d not in uses
        ]
        reach[task["id"]] = set(deps) | implied
        earlier.add(task["id"])
    return problems


def build(cases: list[dict], source: str, tools: list[dict]) -> str:
    by_name = {t["name"]: t for t in tools}
    lines, problems, seen = [], [], set()
    for case in cases:
        if case["id"] in seen:
            problems.append(f"duplicate case id {case['id']}")
        seen.add(case["id"])
        for task in case["tasks"]:
            task.setdefault("depends_on", [])
            problems += check_inputs(case["id"], task, by_name)
        problems += check_edges(case["id"], case["tasks"])
        row = {
            "id": case["id"],
            "source": source,
            "request": case["request"],
            "tools": tools,
            "gold": {"tasks": case["tasks"]},
            "meta": {"pattern": case["pattern"], **case.get("meta", {})},
        }
        lines.append(json.dumps(row, ensure_ascii=False))
    if problems:
        raise SystemExit(f"{source} suite has problems:\n  " + "\n  ".join(problems))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    stale = []
    for file_name, source, cases, names in SUITES:
        out, text = DATASETS / file_name, build(cases, source, tool_entries(names))
        if "--check" in sys.argv:
            if (out.read_text() if out.exists() else "") != text:
                stale.append(file_name)
            continue
        out.write_text(text)
        print(f"wrote {out} ({text.count(chr(10))} cases)")
    if stale:
        sys.exit(", ".join(stale) + " out of date; rerun build_builtin.py")
