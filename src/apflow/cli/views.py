"""Rich renderings of stored tasks shared by the commands (tables, trees, JSON summaries)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from apflow.core.task_fields import utcnow

if TYPE_CHECKING:  # the ORM model: SQLAlchemy loads only for the commands that read storage
    from apflow.core.models import TaskModel
    from apflow.core.tree import TaskTreeNode

STATUS_STYLE = {
    "pending": "dim",
    "in_progress": "bold yellow",
    "completed": "green",
    "failed": "bold red",
    "cancelled": "magenta",
    "skipped": "yellow",
}


def status_text(status: str) -> str:
    """The status as rich markup; ``in_progress`` reads as "running" to people."""
    label = "running" if status == "in_progress" else status
    return f"[{STATUS_STYLE.get(status, 'white')}]{label}[/]"


def duration(task: TaskModel, now: datetime | None = None) -> float | None:
    """Seconds the task ran (so far, when it is still running)."""
    if task.started_at is None:
        return None
    end = task.completed_at or (now or utcnow())
    return max(0.0, (end - task.started_at).total_seconds())


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def task_summary(task: TaskModel) -> dict[str, Any]:
    """The short JSON form of a stored task used by ``--json`` outputs."""
    seconds = duration(task)
    return {
        "id": task.id,
        "spec_id": task.spec_id,
        "name": task.name,
        "executor": task.executor_id,
        "status": task.status,
        "duration_s": round(seconds, 3) if seconds is not None else None,
        "error": task.error,
        "error_type": task.error_type,
    }


def task_table(tasks: Iterable[TaskModel], title: str | None = None) -> Table:
    """One row per task: spec id, executor, status, duration and the error if any."""
    tasks = list(tasks)
    counts: dict[str, int] = {}
    for task in tasks:
        label = "running" if task.status == "in_progress" else task.status
        counts[label] = counts.get(label, 0) + 1
    caption = ", ".join(f"{n} {label}" for label, n in sorted(counts.items()))
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("task", style="cyan", no_wrap=True)
    table.add_column("executor", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("error", overflow="fold")
    now = utcnow()
    for task in tasks:
        table.add_row(
            escape(task.spec_id),
            escape(task.executor_id),
            status_text(task.status),
            fmt_seconds(duration(task, now)),
            escape((task.error or "")[:200]),
        )
    return table


def _deps(task: TaskModel, names: dict[str, str]) -> str:
    parts = []
    for dep in task.dependencies or []:
        label = names.get(dep["id"], dep["id"])
        parts.append(label if dep.get("required", True) else f"{label}?")
    return f" [dim]<- {escape(', '.join(parts))}[/]" if parts else ""


def stored_tree(node: TaskTreeNode) -> Tree:
    """A stored tree with statuses; dependencies shown as ``<- a, b`` (``?`` = optional)."""
    names = {n.task.id: n.task.spec_id for n in node.walk()}

    def label(task: TaskModel) -> str:
        return (
            f"[bold cyan]{escape(task.spec_id)}[/] [dim]{escape(task.executor_id)}[/] "
            f"{status_text(task.status)}{_deps(task, names)}"
        )

    root = Tree(label(node.task))
    stack = [(node, root)]
    while stack:
        current, branch = stack.pop()
        for child in current.children:
            sub = branch.add(label(child.task))
            stack.append((child, sub))
    return root


def short_json(value: Any, limit: int = 2000) -> str:
    """JSON for people: indented, cut at ``limit`` characters."""
    text = json.dumps(value, indent=2, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more chars)"


def spec_tree(spec: Any) -> Tree:
    """A not-yet-stored tree spec as a rich tree: id, executor, dependencies, inputs."""
    tasks = list(spec.tasks)
    children: dict[str | None, list[Any]] = {}
    for t in tasks:
        children.setdefault(t.parent_id, []).append(t)
    ids = {t.id for t in tasks}

    def label(t: Any) -> str:
        deps = [d.id if d.required else f"{d.id}?" for d in t.dependencies]
        dep_text = f" [dim]<- {escape(', '.join(deps))}[/]" if deps else ""
        inputs = json.dumps(t.inputs, default=str, ensure_ascii=False) if t.inputs else ""
        if len(inputs) > 70:
            inputs = inputs[:67] + "..."
        input_text = f"\n[dim]{escape(inputs)}[/]" if inputs else ""
        head = f"[bold cyan]{escape(t.id)}[/] [magenta]{escape(t.executor)}[/]"
        return f"{head}{dep_text}{input_text}"

    if not tasks:
        return Tree("[dim](empty tree)[/]")
    roots = [t for t in tasks if t.parent_id is None or t.parent_id not in ids] or tasks[:1]
    top = Tree(label(roots[0])) if len(roots) == 1 else Tree("[dim](several roots)[/]")
    stack = [(roots[0], top)] if len(roots) == 1 else [(r, top.add(label(r))) for r in roots]
    seen: set[str] = set()
    while stack:
        task, branch = stack.pop()
        if task.id in seen:
            continue
        seen.add(task.id)
        for child in children.get(task.id, []):
            stack.append((child, branch.add(label(child))))
    return top
