"""TaskBench-style metrics for predicted task lists against gold ones.

The rules are the reference scorer's (``../shared/evals/score_reference.py``), so numbers from
``apflow eval score`` and that script agree: node, edge, parameter-name and parameter-value sets
per case, micro-averaged over cases (TP/FP/FN summed, then P/R/F1 once).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

METRICS = ("node", "edge", "param_name", "param_value")
REF_RE = re.compile(r"\$([A-Za-z0-9_\-]+)((?:\.[^$]*)?)\$")
CALL_RE = re.compile(r"\bAPI_call_(\d+)\b")


def canonical_value(value: Any, id2tool: dict[str, str], callmap: dict[str, str]) -> str:
    """Normalise a parameter value so equal meanings compare equal.

    Strings are stripped and case-folded, numbers (and numeric strings) become float text,
    references to earlier outputs become ``<ref:TOOL.field>`` whatever task id they use.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value))
    if isinstance(value, list):
        return json.dumps([canonical_value(x, id2tool, callmap) for x in value])
    if isinstance(value, dict):
        items = {k: canonical_value(x, id2tool, callmap) for k, x in value.items()}
        return json.dumps(items, sort_keys=True)
    if value is None:
        return "null"
    text = str(value).strip()
    text = REF_RE.sub(
        lambda m: (
            f"<ref:{id2tool[m.group(1)]}{m.group(2)}>" if m.group(1) in id2tool else m.group(0)
        ),
        text,
    )
    text = CALL_RE.sub(
        lambda m: f"<ref:{callmap[m.group(1)]}>" if m.group(1) in callmap else m.group(0), text
    )
    try:
        return repr(float(text))
    except ValueError:
        return text.lower()


@dataclass
class Features:
    """What the metrics compare for one task list."""

    nodes: set[str]
    edges: set[tuple[str, str]]
    names: Counter
    values: Counter


def features(tasks: list[Any], tools_by_name: dict[str, dict[str, Any]]) -> Features:
    """Nodes, edges, parameter names and canonical values of one task list."""
    tasks = [t for t in tasks if isinstance(t, dict) and t.get("tool")]
    id2tool = {str(t.get("id")): t["tool"] for t in tasks}
    callmap: dict[str, str] = {}  # Seal-Tools: k of API_call_k -> "TOOL.field"
    for t in tasks:
        schema = (tools_by_name.get(t["tool"]) or {}).get("output_schema") or {}
        props = list(schema.get("properties") or {})
        for j, label in enumerate(t.get("responses") or []):
            m = CALL_RE.fullmatch(str(label))
            if m:
                callmap[m.group(1)] = t["tool"] + (f".{props[j]}" if j < len(props) else "")
    edges = {
        (id2tool[str(d)], t["tool"])
        for t in tasks
        for d in (t.get("depends_on") or [])
        if str(d) in id2tool
    }
    names: Counter = Counter()
    values: Counter = Counter()
    for t in tasks:
        inputs = t.get("inputs") if isinstance(t.get("inputs"), dict) else {}
        for key, value in inputs.items():
            names[(t["tool"], key)] += 1
            values[(t["tool"], key, canonical_value(value, id2tool, callmap))] += 1
    return Features({t["tool"] for t in tasks}, edges, names, values)


def overlap(gold: set | Counter, pred: set | Counter) -> tuple[int, int, int]:
    """(tp, fp, fn) of a set or a multiset."""
    if isinstance(gold, Counter):
        tp = sum((gold & pred).values())
        return tp, sum(pred.values()) - tp, sum(gold.values()) - tp
    tp = len(gold & pred)
    return tp, len(pred) - tp, len(gold) - tp


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1; nothing expected and nothing predicted counts as perfect."""
    if tp + fp + fn == 0:
        return 1.0, 1.0, 1.0
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass
class CaseScore:
    """One case's counts: ``counts[metric] = [tp, fp, fn]`` and the exact tool-set flag."""

    counts: dict[str, list[int]] = field(default_factory=dict)
    exact_tool_set: bool = False

    def f1(self, metric: str) -> float:
        return prf(*self.counts[metric])[2]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"exact_tool_set": self.exact_tool_set}
        for metric in METRICS:
            out[f"{metric}_f1"] = round(self.f1(metric), 4)
            out[f"{metric}_tp_fp_fn"] = list(self.counts[metric])
        return out


def score_case(case: dict[str, Any], predicted: list[Any]) -> CaseScore:
    """Compare one prediction with the case's gold tasks."""
    tools = {t["name"]: t for t in case.get("tools", [])}
    gold = features(case["gold"]["tasks"], tools)
    pred = features(predicted or [], tools)
    pairs = zip(
        METRICS,
        (gold.nodes, gold.edges, gold.names, gold.values),
        (pred.nodes, pred.edges, pred.names, pred.values),
        strict=True,
    )
    counts = {metric: list(overlap(g, p)) for metric, g, p in pairs}
    return CaseScore(counts=counts, exact_tool_set=gold.nodes == pred.nodes)


def aggregate(scores: list[CaseScore]) -> dict[str, Any]:
    """Micro-averaged metrics in the reference scorer's shape (minus ``samples``/``predicted``)."""
    out: dict[str, Any] = {"exact_tool_set": sum(s.exact_tool_set for s in scores)}
    for metric in METRICS:
        total = [0, 0, 0]
        for s in scores:
            for i, x in enumerate(s.counts[metric]):
                total[i] += x
        p, r, f = prf(*total)
        out[metric] = {
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f, 4),
            "tp_fp_fn": total,
        }
    return out


def score_predictions(
    dataset: list[dict[str, Any]], predictions: dict[str, list[Any]]
) -> dict[str, Any]:
    """Score a whole predictions map ``{case_id: tasks}``; missing ids count as empty."""
    scores = [score_case(case, predictions.get(case["id"], [])) for case in dataset]
    result: dict[str, Any] = {
        "samples": len(dataset),
        "predicted": sum(case["id"] in predictions for case in dataset),
    }
    result.update(aggregate(scores))
    return result
