"""render_tree: a spec or a stored tree as indented text, a Mermaid flowchart, or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from apflow.core.errors import ApflowError, ExecutorNotFound
from apflow.core.graphs import implied_root_dependencies
from apflow.core.models import TaskModel
from apflow.core.registry import default_registry
from apflow.core.tree import TaskTreeNode
from apflow.spec.models import AGGREGATOR, TaskTreeSpec
from apflow.spec.parse import parse_tree

FORMATS = ("text", "mermaid", "json")
_STATUS_STYLE = {
    "completed": "fill:#d4edda,stroke:#28a745",
    "failed": "fill:#f8d7da,stroke:#dc3545",
    "in_progress": "fill:#fff3cd,stroke:#ffc107",
    "skipped": "fill:#e2e3e5,stroke:#6c757d",
    "cancelled": "fill:#e2e3e5,stroke:#6c757d",
}


@dataclass
class _Row:
    key: str  # id used for links (stored id or spec id)
    label: str  # what the reader sees (the spec id)
    name: str
    executor: str
    parent: str | None
    deps: list[tuple[str, bool]] = field(default_factory=list)
    status: str | None = None
    implied: bool = False  # deps not declared: the root's implied ones


def _with_implied(rows: list[_Row]) -> list[_Row]:
    """An aggregator root that declares no dependencies shows those it has anyway (the
    engine's rule, :func:`~apflow.core.graphs.implied_root_dependencies`)."""
    keys = {r.key for r in rows}
    roots = [r for r in rows if r.parent is None or r.parent not in keys]
    if len(roots) == 1 and not roots[0].deps and _collects(roots[0].executor):
        pairs = ((r.key, [d for d, _ in r.deps]) for r in rows)
        implied = implied_root_dependencies(roots[0].key, pairs)
        if implied:
            roots[0].deps = [(d["id"], d["required"]) for d in implied]
            roots[0].implied = True
    return rows


def _collects(executor: str) -> bool:
    """Whether the executor collects its dependencies' outcomes (the aggregator)."""
    try:
        return bool(default_registry.get_class(executor).collects_outcomes)
    except ExecutorNotFound:
        return executor == AGGREGATOR


def _rows(tree: Any) -> tuple[list[_Row], list[dict[str, Any]]]:
    links: dict[str, str] = {}
    if isinstance(tree, TaskTreeNode):  # the node structure is the organisational tree
        links = {n.task.id: n.parent.task.id for n in tree.walk() if n.parent is not None}
        tree = tree.tasks()
    if isinstance(tree, list) and tree and all(isinstance(t, TaskModel) for t in tree):
        rows = [
            _Row(
                t.id,
                t.spec_id,
                t.name,
                t.executor_id,
                t.parent_id or links.get(t.id),
                [(d["id"], d.get("required", True)) for d in t.dependencies or []],
                t.status,
            )
            for t in tree
        ]
        return _with_implied(rows), [t.to_dict() for t in tree]
    spec = tree if isinstance(tree, TaskTreeSpec) else parse_tree(tree)
    rows = [
        _Row(
            t.id,
            t.id,
            t.name or t.executor,
            t.executor,
            t.parent_id,
            [(d.id, d.required) for d in t.dependencies],
        )
        for t in spec.tasks
    ]
    return _with_implied(rows), spec.to_list()


def render_tree(tree: Any, fmt: str = "text") -> str:
    """Render a TaskTreeSpec (or anything parse_tree accepts), a list of TaskModel or a
    TaskTreeNode. ``fmt`` is "text", "mermaid" or "json"; raises ApflowError otherwise."""
    if fmt not in FORMATS:
        raise ApflowError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    rows, plain = _rows(tree)
    if fmt == "json":
        return json.dumps(plain, indent=2, default=str)
    if fmt == "mermaid":
        return _mermaid(rows)
    return _text(rows)


def _line(row: _Row, labels: dict[str, str]) -> str:
    parts = [row.label]
    if row.name and row.name not in (row.label, row.executor):
        parts.append(f'"{row.name}"')
    parts.append(f"[{row.executor}]")
    if row.deps:
        shown = [labels.get(d, d) + ("" if req else " (optional)") for d, req in row.deps]
        parts.append(("after (implied): " if row.implied else "after: ") + ", ".join(shown))
    if row.status:
        parts.append(f"- {row.status}")
    return "  ".join(parts)


def _text(rows: list[_Row]) -> str:
    labels = {r.key: r.label for r in rows}
    keys = set(labels)
    children: dict[str | None, list[_Row]] = {}
    for row in rows:
        parent = row.parent if row.parent in keys and row.parent != row.key else None
        if row.parent is not None and parent is None and row.parent != row.key:
            parent = "__orphan__"
        children.setdefault(parent, []).append(row)
    lines: list[str] = []
    shown: set[str] = set()

    def walk(row: _Row, prefix: str, last: bool, top: bool) -> None:
        stack = [(row, prefix, last, top)]
        while stack:
            row, prefix, last, top = stack.pop()
            if row.key in shown:
                continue
            shown.add(row.key)
            branch = "" if top else ("└── " if last else "├── ")
            lines.append(prefix + branch + _line(row, labels))
            kids = children.get(row.key, [])
            child_prefix = prefix if top else prefix + ("    " if last else "│   ")
            for index in range(len(kids) - 1, -1, -1):
                stack.append((kids[index], child_prefix, index == len(kids) - 1, False))

    for root in children.get(None, []):
        walk(root, "", True, True)
    rest = [r for r in rows if r.key not in shown]
    if rest:
        lines.append("(not under a root)")
        for row in rest:
            walk(row, "  ", True, True)
    return "\n".join(lines)


def _mermaid(rows: list[_Row]) -> str:
    node = {r.key: f"n{i}" for i, r in enumerate(rows)}
    lines = ["flowchart TD"]
    for row in rows:
        text = f"{row.label}<br/>{row.executor}" + (f"<br/>{row.status}" if row.status else "")
        text = text.replace('"', "#quot;")
        style = f":::{row.status}" if row.status in _STATUS_STYLE else ""
        lines.append(f'    {node[row.key]}["{text}"]{style}')
    for row in rows:
        for dep, required in row.deps:
            if dep in node:
                arrow = "-->" if required else "-.->"
                lines.append(f"    {node[dep]} {arrow} {node[row.key]}")
    used = {r.status for r in rows if r.status in _STATUS_STYLE}
    for status in sorted(used):
        lines.append(f"    classDef {status} {_STATUS_STYLE[status]}")
    return "\n".join(lines)
