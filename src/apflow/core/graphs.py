"""Graph algorithms shared by the engine's pre-run checks, the spec validator and the views."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def strongly_connected(edges: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components of ``edges`` (node -> nodes it points at).

    Tarjan's algorithm without recursion, so a 10,000-long chain is fine. Every node
    of ``edges`` is in exactly one component; a component of two or more is a cycle.
    """
    counter = 0
    low: dict[str, int] = {}
    number: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in edges:
        if root in number:
            continue
        work = [(root, 0)]
        while work:
            node, pos = work.pop()
            if pos == 0:
                number[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if pos < len(targets):
                work.append((node, pos + 1))
                nxt = targets[pos]
                if nxt not in number:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], number[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == number[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


def implied_root_dependencies(
    root_id: str, tasks: Iterable[tuple[str, Iterable[str]]]
) -> list[dict[str, Any]]:
    """What an aggregator root that declares no dependencies depends on: every other task.

    ``tasks`` is ``(task id, ids it depends on)`` for each task of the tree, root included.
    Required on the sinks (tasks nothing else depends on), optional on the others, so the
    root runs last and sees every outcome, and a failure that an optional dependent absorbed
    does not fail it. Empty when the root declares dependencies, is alone, or something
    depends on it (it is then where the tree starts, not where it ends).
    """
    pairs = [(task_id, list(deps)) for task_id, deps in tasks]
    depended_on = {d for _, deps in pairs for d in deps}
    own = next((deps for task_id, deps in pairs if task_id == root_id), None)
    if own or root_id in depended_on:
        return []
    return [
        {"id": task_id, "required": task_id not in depended_on}
        for task_id, _ in pairs
        if task_id != root_id
    ]
