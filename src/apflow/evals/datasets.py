"""Eval datasets: find them by built-in name or path, load and check them.

Built-in names resolve to ``evals/datasets/`` in a source checkout, or to the copy packaged
inside the wheel (``apflow/evals/datasets``) in an installed apflow.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from apflow.core.errors import ConfigError

BUILTIN = {
    "builtin": "builtin.jsonl",
    "user-dev": "user_dev.jsonl",
    "guide": "guide.jsonl",
    "nestful-dev": "nestful_dev.jsonl",
    "seal-tools-dev": "seal_tools_dev.jsonl",
}


def datasets_dir() -> Path:
    """The folder holding the built-in datasets (packaged copy first, then the checkout)."""
    here = Path(__file__).resolve().parent
    candidates = [here / "datasets", here.parents[2] / "evals" / "datasets"]
    for candidate in candidates:
        if (candidate / BUILTIN["builtin"]).is_file():
            return candidate
    raise ConfigError(
        "the built-in eval datasets were not found (looked in "
        + ", ".join(str(c) for c in candidates)
        + ")",
        hint="run from an apflow source checkout, or pass a dataset path instead of a name",
    )


def resolve(suite: str | Path) -> Path:
    """A dataset path from a built-in name or a path; unknown names list the known ones."""
    if isinstance(suite, str) and suite in BUILTIN:
        return datasets_dir() / BUILTIN[suite]
    path = Path(suite)
    if path.is_file():
        return path
    raise ConfigError(
        f"unknown eval suite {str(suite)!r}: not a built-in name and no such file",
        hint="use one of " + ", ".join(BUILTIN) + ", or a path to a JSONL dataset",
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file; a bad line is reported with its number."""
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"file not found: {path}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{path}:{number} is not valid JSON: {exc.msg}",
                hint="each line must hold one JSON object",
            ) from None
        if not isinstance(row, dict):
            raise ConfigError(f"{path}:{number} must be a JSON object, got {type(row).__name__}")
        rows.append(row)
    return rows


def load_dataset(suite: str | Path) -> list[dict[str, Any]]:
    """Cases of a suite (name or path), each checked for the fields the runner needs."""
    path = resolve(suite)
    cases = read_jsonl(path)
    for number, case in enumerate(cases, 1):
        missing = [k for k in ("id", "request", "tools", "gold") if k not in case]
        if missing or not isinstance(case.get("gold"), dict) or "tasks" not in case["gold"]:
            raise ConfigError(
                f"{path}: case #{number} ({case.get('id', '?')}) lacks "
                + ", ".join(missing or ["gold.tasks"]),
                hint="see evals/datasets/README.md for the case format",
            )
    return cases


def load_predictions(path: str | Path) -> dict[str, list[Any]]:
    """A predictions file (``{"id", "tasks"}`` per line) as ``{case_id: tasks}``."""
    predictions: dict[str, list[Any]] = {}
    for number, row in enumerate(read_jsonl(Path(path)), 1):
        if "id" not in row:
            raise ConfigError(f"{path}: prediction #{number} has no 'id'")
        predictions[str(row["id"])] = row.get("tasks") or []
    return predictions


def dataset_hash(suite: str | Path) -> str:
    """SHA-256 of the dataset file, so a report says exactly which data it measured."""
    return hashlib.sha256(resolve(suite).read_bytes()).hexdigest()


_DATASET_REF = re.compile(r"\$([A-Za-z0-9_\-]+)((?:\.[^$]*)?)\$")


def engine_refs(value: Any) -> Any:
    """Dataset references ``$t.f$`` -> engine references ``${t.result.f}``."""
    if isinstance(value, str):
        return _DATASET_REF.sub(lambda m: "${" + m.group(1) + ".result" + m.group(2) + "}", value)
    if isinstance(value, list):
        return [engine_refs(x) for x in value]
    if isinstance(value, dict):
        return {k: engine_refs(x) for k, x in value.items()}
    return value
