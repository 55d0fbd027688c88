"""Warn about a read that races a write on the same resource.

Two tasks with no path between them run in parallel. When one writes a resource (a POST,
PUT or DELETE to a URL; a program run in a folder) and the other reads the same one, the
read sees the state before or after the write by chance: "create the user, then GET it"
written without the dependency. Such a tree is still valid (the request may mean it), so
this is a warning with a hint, not an error.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from apflow.core.executor import Effect
from apflow.spec.graph import SpecGraph
from apflow.spec.models import AGGREGATOR, TaskTreeSpec
from apflow.spec.report import Issue

#: Tasks looked at, and warnings given, at most: a hostile tree of many writes and reads on
#: one URL must not cost a check per pair (validation stays within its time budget).
MAX_TASKS_LOOKED_AT = 300
MAX_WARNINGS = 20


def _resources(inputs: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """``(host, path segments)`` of the URLs and folders a task acts on (literal ones)."""
    out = []
    for key in ("url", "endpoint"):
        value = inputs.get(key)
        if isinstance(value, str) and "${" not in value and "://" in value:
            try:
                parts = urlsplit(value)
            except ValueError:
                continue
            segments = tuple(s for s in parts.path.split("/") if s)
            out.append((parts.netloc.lower(), segments))
    cwd = inputs.get("cwd")
    if isinstance(cwd, str) and "${" not in cwd:
        out.append(("file://", tuple(s for s in cwd.split("/") if s)))
    return out


def _overlap(a: tuple[str, tuple[str, ...]], b: tuple[str, tuple[str, ...]]) -> bool:
    """Same host, and one path is the other or lies under it (/users and /users/42)."""
    if a[0] != b[0]:
        return False
    shorter = min(len(a[1]), len(b[1]))
    return a[1][:shorter] == b[1][:shorter]


def race_warnings(spec: TaskTreeSpec, graph: SpecGraph, registry: Any) -> list[Issue]:
    """One ``parallel_write_read`` warning per read that may run beside a write it overlaps."""
    looked: list[tuple[int, Effect, list]] = []
    for index, task in enumerate(spec.tasks[:MAX_TASKS_LOOKED_AT]):
        if task.executor == AGGREGATOR or task.executor not in registry:
            continue
        try:
            effect = registry.get(task.executor).effect(task.inputs)
        except Exception:  # a plugin's effect() must not break validation
            continue
        resources = _resources(task.inputs)
        if effect is not None and resources:
            looked.append((index, effect, resources))
    ancestors: dict[str, set[str]] = {}

    def above(task_id: str) -> set[str]:
        """Every task ``task_id`` waits for, computed once per task (no recursion)."""
        if task_id in ancestors:
            return ancestors[task_id]
        seen: set[str] = set()
        stack = [task_id]
        while stack:
            for dep in graph.deps.get(stack.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        ancestors[task_id] = seen
        return seen

    issues: list[Issue] = []
    for w_index, w_effect, w_res in looked:
        if w_effect is not Effect.WRITE:
            continue
        writer = spec.tasks[w_index]
        for r_index, r_effect, r_res in looked:
            reader = spec.tasks[r_index]
            if r_effect is not Effect.READ or not any(_overlap(a, b) for a in w_res for b in r_res):
                continue
            if writer.id in above(reader.id) or reader.id in above(writer.id):
                continue
            issues.append(
                Issue(
                    code="parallel_write_read",
                    task_id=reader.id,
                    path=f"tasks[{r_index}].dependencies",
                    message=f"reads what {writer.id!r} changes, and may run before or after it",
                    hint=f'add {{"id": "{writer.id}"}} to its dependencies if it must see the '
                    f"change (or make {writer.id!r} depend on it if it must see the state "
                    "before)",
                )
            )
            if len(issues) >= MAX_WARNINGS:
                return issues
    return issues
