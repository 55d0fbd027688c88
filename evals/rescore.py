"""Re-measure the recorded runs in evals/results with the current scoring code, offline.

For each ``evals/results/NAME/report.json`` with a cassette ``evals/cassettes/NAME.jsonl``, the
run is replayed (no model), and the new report keeps the recorded wall time per case and the
recording command (timing is a property of the recording, not of the replay). Use it after a
change to metrics, validation or the executability check; a change to prompts needs a new
recording instead (replay then stops with "request not in cassette").

    python evals/rescore.py [NAME ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from apflow.evals.report import render_markdown, summarise

HERE = Path(__file__).parent


def rescore(name: str) -> None:
    folder = HERE / "results" / name
    old = json.loads((folder / "report.json").read_text())
    meta = old["meta"]
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "apflow", "eval", "run", meta["suite"], "--mode"]
        cmd += [meta["mode"], "--limit", str(meta["limit"]), "--out", tmp]
        cmd += ["--replay", str(HERE / "cassettes" / f"{name}.jsonl")]
        subprocess.run(cmd, check=True, capture_output=True)
        new = json.loads((Path(tmp) / "report.json").read_text())
    recorded = {c["id"]: c for c in old["cases"]}
    for case in new["cases"]:
        # wall time and machine load are the recording's, not the replay's
        for key in ("seconds", "load_average"):
            if key in recorded.get(case["id"], {}):
                case[key] = recorded[case["id"]][key]
    new["aggregate"] = summarise(new["cases"])
    for key in ("model", "command", "cassette", "git_commit"):
        new["meta"][key] = meta.get(key, new["meta"].get(key))
    new["meta"]["rescored_from_cassette"] = True
    (folder / "report.json").write_text(json.dumps(new, indent=1, ensure_ascii=False) + "\n")
    (folder / "report.md").write_text(render_markdown(new))
    print(f"{name}: rescored {len(new['cases'])} cases")


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(
        p.parent.name
        for p in (HERE / "results").glob("*/report.json")
        if (HERE / "cassettes" / f"{p.parent.name}.jsonl").is_file()
    )
    for item in names:
        rescore(item)
