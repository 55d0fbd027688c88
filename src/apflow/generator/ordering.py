"""Keep the order a request gives around side effects.

A model asked for "create the user with a POST, then GET it to check it exists" often writes
two tasks with no dependency: nothing flows from one to the other, so they run in parallel
and the check can run before the create. Writes are barriers in request order: a step
listed after a write waits for it, and a write listed after a step waits for that step.
Reads with no write between them stay free to run in parallel. Correctness comes before
parallelism: a missing edge runs a step before its effect exists, an extra one only costs
time.

The tasks' list order is the request's order: both prompts ask for one task per action in
the order the request names them, and ids are numbered by position.
"""

from __future__ import annotations

from typing import Any

from apflow.core.executor import Effect
from apflow.spec import AGGREGATOR, DependencySpec, TaskSpec, TaskTreeSpec


def effect_of(task: TaskSpec, registry: Any) -> Effect | None:
    """The task's declared effect, or None when its executor does not say (or is unknown)."""
    try:
        executor = registry.get(task.executor)
    except Exception:  # an unknown executor is the validator's business, not ours
        return None
    try:
        return executor.effect(task.inputs)
    except Exception:  # a plugin's effect() must not break generation: count it a write
        return Effect.WRITE


def _what(task: TaskSpec) -> str:
    """``POST https://x/y`` for people reading the fix list."""
    inputs = task.inputs
    target = inputs.get("url") or inputs.get("tool") or inputs.get("argv") or ""
    method = inputs.get("method")
    text = f"{method} {target}" if isinstance(method, str) and target else str(target)
    text = text if len(text) <= 80 else text[:77] + "..."
    return f"{task.executor}" + (f" {text}" if text else "")


def ordered_by_effects(spec: TaskTreeSpec, registry: Any) -> tuple[TaskTreeSpec, list[str]]:
    """The tree with write barriers added as dependencies, and one fix line per edge added.

    Edges are added only where no path already orders the two tasks, nearest first, so the
    result has no edge that another path implies. A barrier on a task that some dependency
    marks optional (a fallback's primary, allowed to fail) is optional too.
    """
    working = [t for t in spec.tasks if t.executor != AGGREGATOR]
    effects = {t.id: effect_of(t, registry) for t in working}
    if Effect.WRITE not in effects.values():
        return spec, []
    optional_targets = {d.id for t in spec.tasks for d in t.dependencies if not d.required}
    by_id = {t.id: t for t in spec.tasks}
    ancestors: dict[str, set[str]] = {}

    def above(task_id: str, seen: frozenset[str] = frozenset()) -> set[str]:
        if task_id in ancestors:
            return ancestors[task_id]
        out: set[str] = set()
        task = by_id.get(task_id)
        for dep in task.dependency_ids() if task else []:
            if dep in seen:  # a cycle: the validator reports it; do not recurse forever
                continue
            out.add(dep)
            out |= above(dep, seen | {task_id})
        ancestors[task_id] = out
        return out

    added: dict[str, list[DependencySpec]] = {}
    fixes: list[str] = []
    for position, later in enumerate(working):
        mine = above(later.id)
        for earlier in reversed(working[:position]):
            if Effect.WRITE not in (effects[earlier.id], effects[later.id]):
                continue
            if earlier.id in mine or later.id in above(earlier.id):
                continue
            dep = DependencySpec(id=earlier.id, required=earlier.id not in optional_targets)
            added.setdefault(later.id, []).append(dep)
            mine |= {earlier.id} | above(earlier.id)
            writer = earlier if effects[earlier.id] is Effect.WRITE else later
            fixes.append(
                f"{later.id}: now runs after {earlier.id}, which the request puts first "
                f"({writer.id} has side effects: {_what(writer)})"
            )
        ancestors[later.id] = mine
    if not added:
        return spec, []
    tasks = [
        t.model_copy(update={"dependencies": [*t.dependencies, *added[t.id]]})
        if t.id in added
        else t
        for t in spec.tasks
    ]
    return TaskTreeSpec(tasks=tasks), fixes
