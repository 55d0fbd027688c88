"""Graph helpers over a spec: id index, dependency cycles, parent chains, reachability.

Kept apart from the checks so repair can reuse them; all iterative, so a 200-deep
chain does not hit the recursion limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from apflow.core import references
from apflow.core.graphs import strongly_connected
from apflow.spec.models import TaskSpec, TaskTreeSpec

#: Deeper JSON is not walked by helpers that recurse (json, jsonschema).
MAX_SCAN_DEPTH = 200


Refs = list[tuple[tuple, str, Any]]
RefsOf = Callable[[TaskSpec], Refs]


def task_refs(task: TaskSpec) -> Refs:
    """``find_references`` of a task's inputs (none when absurdly deep: ``scan`` refuses such
    inputs before a graph is built, this is only a safety net)."""
    try:
        return references.list_references(task.inputs)
    except RecursionError:
        return []


class SpecGraph:
    """Index of a spec by id (first occurrence wins) and its dependency edges."""

    def __init__(self, spec: TaskTreeSpec, refs_of: RefsOf | None = None) -> None:
        self.tasks = spec.tasks
        self._refs: dict[int, list[tuple[tuple, str, Any]]] = {}
        self._refs_of = refs_of
        self.index: dict[str, int] = {}
        for i, task in enumerate(self.tasks):
            self.index.setdefault(task.id, i)
        #: task id -> ids it depends on (existing tasks only, no self edges)
        self.deps: dict[str, list[str]] = {tid: [] for tid in self.index}
        for tid, i in self.index.items():
            seen: set[str] = set()
            for dep in self.tasks[i].dependencies:
                if dep.id in self.index and dep.id != tid and dep.id not in seen:
                    seen.add(dep.id)
                    self.deps[tid].append(dep.id)

    def refs(self, i: int) -> list[tuple[tuple, str, Any]]:
        """``find_references`` of task i's inputs, computed once (none when absurdly deep:
        ``scan`` refuses such inputs before a graph is built, this is only a safety net)."""
        if i not in self._refs:
            if self._refs_of is not None:
                self._refs[i] = self._refs_of(self.tasks[i])
            else:
                self._refs[i] = task_refs(self.tasks[i])
        return self._refs[i]

    def depends_on(self, source: str, target: str) -> bool:
        """True when ``source`` (transitively) depends on ``target``."""
        if source == target:
            return True
        stack, seen = [source], {source}
        while stack:
            for nxt in self.deps.get(stack.pop(), ()):
                if nxt == target:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    def cycles(self) -> list[list[str]]:
        """One cycle per strongly connected component; each lists ids, a depends on the next."""
        out = []
        for component in strongly_connected(self.deps):
            if len(component) < 2:
                continue
            members = set(component)
            start = min(component, key=self.index.__getitem__)
            out.append(self._cycle_through(start, members))
        out.sort(key=lambda cycle: self.index[cycle[0]])
        return out

    def _cycle_through(self, start: str, members: set[str]) -> list[str]:
        previous: dict[str, str] = {}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for nxt in self.deps[node]:
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return path[::-1]
                if nxt in members and nxt not in previous:
                    previous[nxt] = node
                    queue.append(nxt)
        return [start]  # unreachable for a real component

    def parent_chains(self) -> tuple[list[list[str]], dict[str, str]]:
        """(parent_id loops, where each task's chain ends).

        The end is ``"root:<id>"`` for a task under a root, ``"missing:<id>"`` when the
        chain reaches a task whose parent does not exist, ``"loop"`` when it runs into a loop.
        """
        loops: list[list[str]] = []
        end: dict[str, str] = {}
        for tid in self.index:
            path: list[str] = []
            on_path: set[str] = set()
            node: str | None = tid
            result = ""
            while node is not None:
                if node in end:
                    result = end[node]
                    break
                if node in on_path:
                    loops.append(path[path.index(node) :])
                    result = "loop"
                    break
                path.append(node)
                on_path.add(node)
                parent = self.tasks[self.index[node]].parent_id
                if parent is None:
                    result = f"root:{node}"
                    break
                if parent not in self.index:
                    result = f"missing:{node}"
                    break
                node = parent
            for visited in path:
                end[visited] = result
        return loops, end


def referenced_ids(spec: TaskTreeSpec, graph: SpecGraph | None = None) -> set[str]:
    """Every id named by a dependency, a parent_id or a ``${id.result}`` reference."""
    out: set[str] = set()
    for i, task in enumerate(spec.tasks):
        out.update(task.dependency_ids())
        if task.parent_id:
            out.add(task.parent_id)
        found = graph.refs(i) if graph else references.list_references(task.inputs)
        Reference = references.Reference
        out.update([ref.task_id for _path, _raw, ref in found if isinstance(ref, Reference)])
    return out
