"""Build scripted model answers from gold tasks, for end-to-end eval tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from apflow.evals.datasets import engine_refs


def tree_from(tasks: list[dict[str, Any]], *, root: bool = True) -> dict[str, Any]:
    """An aggregator-root tree (or a rootless forest) holding ``tasks``."""
    out = []
    if root:
        deps = [{"id": t["id"], "required": True} for t in tasks]
        out.append(
            {
                "id": "root",
                "schemas": {"method": "aggregate_results_executor"},
                "dependencies": deps,
            }
        )
    for t in tasks:
        task = {
            "id": t["id"],
            "schemas": {"method": t["tool"]},
            "inputs": engine_refs(t.get("inputs") or {}),
            "dependencies": [{"id": d, "required": True} for d in t.get("depends_on") or []],
        }
        if root:
            task["parent_id"] = "root"
        out.append(task)
    return {"tasks": out}


def write_script(path: Path, entries: list[tuple[str, Any]]) -> Path:
    """A ``scripted:`` file answering each request substring with its tree, in order."""
    path.write_text(json.dumps([{"match": m, "response": r} for m, r in entries]))
    return path
