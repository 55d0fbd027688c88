"""The executor catalogue shown to the model: chosen from the registry, rendered compactly.

A small local model reads this on a slow CPU, so each executor gets two short lines.
With more executors than the limit, a tiny BM25 ranking over id, description and input
field names keeps the ones most relevant to the requirement (deterministic: ties are
broken by id). The aggregator is always offered because every tree needs it as root.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

AGGREGATOR = "aggregate_results_executor"
#: Offered only when a caller names it: a tree that writes trees is rarely what was meant.
NOT_OFFERED_BY_DEFAULT = frozenset({"generate_executor"})
_STOPWORDS = frozenset(
    "a an and the of to in on for from with by or then it its is are be as at this that "
    "each all into using use via their them executor task".split()
)


def tokens(text: str) -> list[str]:
    """Lowercase word tokens with stopwords dropped and a plural 's' trimmed."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    out = []
    for word in words:
        if word in _STOPWORDS or len(word) < 2:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


class BM25:
    """Okapi BM25 over a handful of short documents; no dependency, fully deterministic."""

    def __init__(self, documents: dict[str, list[str]], k1: float = 1.5, b: float = 0.75):
        self.documents = documents
        self.k1, self.b = k1, b
        self.lengths = {key: len(doc) for key, doc in documents.items()}
        self.average = (sum(self.lengths.values()) / len(documents)) if documents else 0.0
        frequency: Counter[str] = Counter()
        for doc in documents.values():
            frequency.update(set(doc))
        n = len(documents)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}
        self.counts = {key: Counter(doc) for key, doc in documents.items()}

    def score(self, query: Iterable[str], key: str) -> float:
        counts, length = self.counts[key], self.lengths[key]
        total = 0.0
        for term in set(query):
            tf = counts.get(term, 0)
            if not tf:
                continue
            norm = tf + self.k1 * (1 - self.b + self.b * length / (self.average or 1))
            total += self.idf[term] * tf * (self.k1 + 1) / norm
        return total

    def rank(self, query: Iterable[str]) -> list[tuple[str, float]]:
        terms = list(query)
        scored = [(key, self.score(terms, key)) for key in self.documents]
        return sorted(scored, key=lambda kv: (-kv[1], kv[0]))


def _document(entry: dict[str, Any]) -> list[str]:
    props = (entry.get("input_schema") or {}).get("properties") or {}
    # The id counts twice: "scrape_executor" is the strongest hint of what a step needs.
    return (
        tokens(entry["id"]) * 2 + tokens(entry.get("description") or "") + tokens(" ".join(props))
    )


def select(
    entries: list[dict[str, Any]], requirement: str, limit: int = 20
) -> list[dict[str, Any]]:
    """At most ``limit`` entries, the aggregator first, then the most relevant by BM25."""
    by_id = {e["id"]: e for e in entries}
    chosen = [by_id[AGGREGATOR]] if AGGREGATOR in by_id else []
    rest = {k: v for k, v in by_id.items() if k != AGGREGATOR}
    room = max(0, limit - len(chosen))
    if len(rest) <= room:
        return chosen + [rest[k] for k in sorted(rest)]
    index = BM25({k: _document(v) for k, v in rest.items()})
    ranked = index.rank(tokens(requirement))
    return chosen + [rest[k] for k, _score in ranked[:room]]


def offered(
    registry: Any,
    *,
    allow: Iterable[str] | None = None,
    permits: Callable[[str], bool] | None = None,
    requirement: str | None = None,
) -> list[dict[str, Any]]:
    """Registry descriptions the model may use: allow-list and policy applied, aggregator kept.

    An executor that declares ``offer_when`` is offered only when the ``requirement``
    matches it or names the executor's id: a small model shown ``transform_executor`` adds a
    merge or pick step to trees whose request asked for none (the main false-edge source on
    the builtin suite), while a request that says "merge", "pick" or "keep only" still gets
    it. An allow-list only narrows what may be used, so it does not lift the condition.
    """
    wanted = set(allow) if allow is not None else None
    out = []
    for executor_id in registry.ids():
        if executor_id != AGGREGATOR:
            if wanted is not None and executor_id not in wanted:
                continue
            if wanted is None and executor_id in NOT_OFFERED_BY_DEFAULT:
                continue
            if permits is not None and not permits(executor_id):
                continue
        entry = registry.describe(executor_id)
        if requirement is not None and not _asked_for(entry, requirement):
            continue
        out.append(entry)
    return out


def _asked_for(entry: dict[str, Any], requirement: str) -> bool:
    trigger = entry.get("offer_when") or ""
    if not trigger or entry["id"] in requirement:
        return True
    return re.search(trigger, requirement, flags=re.IGNORECASE) is not None


def _short(text: str, limit: int) -> str:
    """The first sentence, cut to ``limit``: a ``.`` or ``;`` inside brackets ends nothing
    ("Call an HTTP API (GET/POST/...; JSON endpoints)" stays whole)."""
    text = " ".join((text or "").split())
    first, depth = text, 0
    for match in re.finditer(r"[()]|(?<!e\.g\.)(?<!i\.e\.)(?<=[.;])\s", text):
        token = match.group()
        if token in "()":
            depth = max(0, depth + (1 if token == "(" else -1))
        elif depth == 0:
            first = text[: match.start()]
            break
    first = first.rstrip(".;")
    return first if len(first) <= limit else first[: limit - 3].rstrip() + "..."


def _type_of(schema: dict[str, Any], nested: bool = True) -> str:
    if "enum" in schema and len(schema["enum"]) <= 8:
        return "|".join(str(v) for v in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = "|".join(k for k in kind if k != "null") or "null"
    if kind == "array":
        items = schema.get("items") or {}
        if nested and isinstance(items.get("properties"), dict):
            return f"list[{_object_shape(items)}]"  # models cannot guess item fields
        item = items.get("type")
        return f"list[{item}]" if isinstance(item, str) else "list"
    return kind or "any"


def _object_shape(schema: dict[str, Any], max_fields: int = 5) -> str:
    """``{op*: pick|pluck; path; fields}``: one level, names and enums only."""
    props = schema["properties"]
    required = [r for r in schema.get("required") or [] if r in props]
    order = required + [p for p in props if p not in required]
    parts = []
    for name in order[:max_fields]:
        field = props[name] if isinstance(props[name], dict) else {}
        shown = _type_of(field, nested=False) if "enum" in field else ""
        mark = "*" if name in required else ""
        parts.append(f"{name}{mark}" + (f": {shown}" if shown else ""))
    return "{" + "; ".join(parts) + ("; ..." if len(order) > max_fields else "") + "}"


def compact_inputs(schema: dict[str, Any] | None, max_fields: int = 6) -> str:
    """``url* string (page URL); method GET|POST`` — required fields first, marked ``*``.

    Only required fields carry their description (unless none is required): optional
    ones cost tokens on every request and small models mostly leave them out anyway."""
    schema = schema or {}
    props: dict[str, Any] = schema.get("properties") or {}
    required = [r for r in schema.get("required") or [] if r in props]
    order = required + [p for p in props if p not in required]
    parts = []
    for name in order[:max_fields]:
        field = props[name] if isinstance(props[name], dict) else {}
        mark = "*" if name in required else ""
        described = mark or not required  # with nothing required, say what each field is
        desc = _short(field.get("description", ""), 60) if described else ""
        parts.append(f"{name}{mark} {_type_of(field)}" + (f" ({desc})" if desc else ""))
    if len(order) > max_fields:
        parts.append(f"+{len(order) - max_fields} optional")
    return "; ".join(parts) if parts else "none"


def compact_outputs(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    props = schema.get("properties") or {}
    return ", ".join(props) if props else _type_of(schema)


def render(entries: list[dict[str, Any]]) -> str:
    """Two lines per executor: ``- id: description`` and its inputs/outputs."""
    lines = []
    for entry in entries:
        lines.append(f"- {entry['id']}: {_short(entry.get('description') or '', 110)}")
        io = f"  in: {compact_inputs(entry.get('input_schema'))}"
        out = compact_outputs(entry.get("output_schema"))
        lines.append(io + (f" | out: {out}" if out else ""))
    return "\n".join(lines)
