"""TaskTreeNode: an in-memory tree of stored tasks, handed to the engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from apflow.core.models import TaskModel


class TaskTreeNode:
    """A stored task and its organisational children (execution order comes from dependencies)."""

    def __init__(self, task: TaskModel) -> None:
        self.task = task
        self.children: list[TaskTreeNode] = []
        self.parent: TaskTreeNode | None = None

    def add_child(self, node: TaskTreeNode) -> TaskTreeNode:
        node.parent = self
        self.children.append(node)
        return node

    def walk(self) -> Iterator[TaskTreeNode]:
        """Depth-first, parent before children (iterative: deep trees do not recurse)."""
        stack: list[TaskTreeNode] = [self]
        seen: set[int] = set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            yield node
            stack.extend(reversed(node.children))

    def tasks(self) -> list[TaskModel]:
        return [n.task for n in self.walk()]

    def find(self, task_id: str) -> TaskTreeNode | None:
        return next((n for n in self.walk() if n.task.id == task_id), None)

    def __len__(self) -> int:
        return sum(1 for _ in self.walk())

    def to_dict(self) -> dict[str, Any]:
        return {**self.task.to_dict(), "children": [c.to_dict() for c in self.children]}

    @classmethod
    def from_tasks(cls, tasks: list[TaskModel], root_id: str) -> TaskTreeNode:
        """Build the node structure from a flat list using ``parent_id`` links."""
        nodes = {t.id: cls(t) for t in tasks}
        if root_id not in nodes:
            raise KeyError(root_id)
        for task in tasks:
            if task.id != root_id and task.parent_id in nodes:
                nodes[task.parent_id].add_child(nodes[task.id])
        return nodes[root_id]

    def __repr__(self) -> str:
        return f"TaskTreeNode({self.task!r}, children={len(self.children)})"
