"""Write a ``scripted:`` model file that answers every case of a suite with its gold tree.

Running the suite with it measures the ceiling of the pipeline itself: how many gold trees
pass our validator and run with the simulated executors (upstream gold is not always
consistent with its own tool specs; see datasets/README.md, "Lossy points").

    python evals/gold_script.py nestful-dev /tmp/gold.json
    apflow eval run nestful-dev --model scripted:/tmp/gold.json --out /tmp/oracle
"""

from __future__ import annotations

import json
import sys
from typing import Any

from apflow.evals.datasets import engine_refs, load_dataset


def gold_tree(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """The gold tasks as a tree answer (the root is added by the generator)."""
    return {
        "tasks": [
            {
                "id": t["id"],
                "schemas": {"method": t["tool"]},
                "inputs": engine_refs(t.get("inputs") or {}),
                "dependencies": list(t.get("depends_on") or []),
            }
            for t in tasks
        ]
    }


if __name__ == "__main__":
    suite, out = sys.argv[1], sys.argv[2]
    entries = [
        {"match": case["request"], "response": gold_tree(case["gold"]["tasks"])}
        for case in load_dataset(suite)
        for _ in range(3)  # the same answer again for each re-ask
    ]
    with open(out, "w", encoding="utf-8") as f:
        json.dump(entries, f)
