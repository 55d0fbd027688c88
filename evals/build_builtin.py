"""Write evals/datasets/builtin.jsonl: the built-in suite over apflow's own executors.

Cases are written here compactly; tool schemas come from the live registry
(``apflow.list_executors()``) when an executor is registered, else from the expected
schemas below. Every gold task's inputs are checked against its tool's input schema
(references to earlier outputs count as present), so schema drift fails loudly.

    python evals/build_builtin.py            # rewrite the file
    python evals/build_builtin.py --check    # exit 1 if the file is out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from builtin_cases import CASES, FALLBACK_SCHEMAS, TOOLS
from jsonschema import Draft202012Validator

OUT = Path(__file__).parent / "datasets" / "builtin.jsonl"


def tool_entries() -> list[dict]:
    live = {}
    try:
        import apflow

        live = {e["id"]: e for e in apflow.list_executors()}
    except Exception as exc:  # the suite must still build on a partial checkout
        print(f"registry unavailable ({exc}); using expected schemas", file=sys.stderr)
    entries = []
    for name in sorted(TOOLS):
        fallback = FALLBACK_SCHEMAS[name]
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


def build() -> str:
    tools = tool_entries()
    by_name = {t["name"]: t for t in tools}
    lines, problems, seen = [], [], set()
    for case in CASES:
        if case["id"] in seen:
            problems.append(f"duplicate case id {case['id']}")
        seen.add(case["id"])
        ids = {t["id"] for t in case["tasks"]}
        for task in case["tasks"]:
            task.setdefault("depends_on", [])
            problems += [
                f"{case['id']}: unknown dep {d}" for d in task["depends_on"] if d not in ids
            ]
            problems += check_inputs(case["id"], task, by_name)
        row = {
            "id": case["id"],
            "source": "apflow_builtin",
            "request": case["request"],
            "tools": tools,
            "gold": {"tasks": case["tasks"]},
            "meta": {"pattern": case["pattern"], **case.get("meta", {})},
        }
        lines.append(json.dumps(row, ensure_ascii=False))
    if problems:
        raise SystemExit("builtin suite has problems:\n  " + "\n  ".join(problems))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = build()
    if "--check" in sys.argv:
        current = OUT.read_text() if OUT.exists() else ""
        sys.exit(0 if current == text else "builtin.jsonl is out of date; rerun build_builtin.py")
    OUT.write_text(text)
    print(f"wrote {OUT} ({text.count(chr(10))} cases)")
