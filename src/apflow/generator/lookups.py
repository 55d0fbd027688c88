"""Invented identifiers and the lookups that should have produced them.

"Find pet groomers near Sydney and show their reviews" needs the business id that only the
search returns. A small model calls the reviews API with ``business_id: "Sydney pet
groomer"``, a value it made up, and no edge. The signs are deterministic: an input whose
name says it is an identifier (``business_id``, ``geoId``, ``originSkyId``) holds a literal
value that the request does not contain, and an offered executor's output declares a field
of that name. When an earlier task of the tree already returns that field, the input is
wired to it; when none does, the model is asked once more, with a hint naming the lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from apflow.spec import AGGREGATOR, DependencySpec, Issue, TaskSpec, TaskTreeSpec

#: Input names that hold an identifier: ``id``, ``user_id``, ``geoId``, ``skyId``, ``zip_code``.
_IDENTIFIER = re.compile(r"(?:^|_)(?:id|ids|code|key|uuid|slug)$|[a-z](?:Id|ID|Ids|Code|Key)$")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


#: Names shaped like identifiers that report an outcome instead (a command's exit code).
_OUTCOME = re.compile(r"(?:status|exit|error|return|response)_?code$", re.IGNORECASE)


def is_identifier(name: str) -> bool:
    return _IDENTIFIER.search(name) is not None and _OUTCOME.search(name) is None


@dataclass(frozen=True)
class Producer:
    executor: str
    field: str  # the output property, as declared
    path: str  # where it is in the result: ``business_id``, or ``data[0].business_id``


def producers(entries: list[dict[str, Any]]) -> dict[str, list[Producer]]:
    """Normalised identifier field name -> the offered executors whose output declares it
    (top level, or inside a list's items, as search results are)."""
    out: dict[str, list[Producer]] = {}
    for entry in entries:
        if entry.get("id") == AGGREGATOR:
            continue
        schema = entry.get("output_schema") or {}
        top = schema.get("properties") or {}
        fields = [(name, name) for name in top]
        for list_name, value in top.items():
            items = value.get("items") if isinstance(value, dict) else None
            if isinstance(items, dict) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", list_name):
                fields += [(n, f"{list_name}[0].{n}") for n in items.get("properties") or {}]
        for name, path in fields:
            if is_identifier(name) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                out.setdefault(_norm(name), []).append(Producer(entry["id"], name, path))
    return out


def _source(key: str, task: TaskSpec, table: dict[str, list[Producer]]) -> list[Producer]:
    """Producers of the field ``key`` names: the same name, or one it ends with
    (``originSkyId`` <- ``skyId``), never the task's own executor."""
    norm = _norm(key)
    found = []
    for name, listed in table.items():
        if len(name) >= 2 and (norm == name or norm.endswith(name)):
            found += [p for p in listed if p.executor != task.executor]
    return found


def _invented(value: Any, requirement: str) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    text = str(value).strip()
    return bool(text) and "${" not in text and text.lower() not in requirement.lower()


def wired_lookups(
    spec: TaskTreeSpec, requirement: str, entries: list[dict[str, Any]]
) -> tuple[TaskTreeSpec, list[str], list[Issue]]:
    """Invented identifiers wired to the one earlier task that returns them; the rest as
    ``invented_value`` issues (for a re-ask) with the lookup to add."""
    table = producers(entries)
    if not table:
        return spec, [], []
    tasks = list(spec.tasks)
    fixes: list[str] = []
    issues: list[Issue] = []
    for position, task in enumerate(tasks):
        if task.executor == AGGREGATOR:
            continue
        inputs = dict(task.inputs)
        added: list[str] = []
        for key, value in task.inputs.items():
            if not is_identifier(key) or not _invented(value, requirement):
                continue
            sources = _source(key, task, table)
            if not sources:
                continue
            by_executor = {p.executor: p for p in sources}
            earlier = [t for t in tasks[:position] if t.executor in by_executor]
            if len(earlier) == 1:
                producer = by_executor[earlier[0].executor]
                inputs[key] = "${" + earlier[0].id + ".result." + producer.path + "}"
                added.append(earlier[0].id)
                fixes.append(
                    f"{task.id}: inputs.{key} {value!r} is not in the request; it now reads "
                    f"{inputs[key]}, which {earlier[0].id} returns"
                )
            elif not earlier:
                lookup = sources[0]
                issues.append(
                    Issue(
                        code="invented_value",
                        task_id=task.id,
                        path=f"inputs.{key}",
                        message=f"{value!r} is not in the request: it is made up",
                        hint=f"add a {lookup.executor} task before it that finds it, and set "
                        f'"{key}" to "${{tK.result.{lookup.path}}}" with that task in '
                        "its dependencies",
                    )
                )
        if added:
            have = set(task.dependency_ids())
            deps = [*task.dependencies, *(DependencySpec(id=i) for i in added if i not in have)]
            tasks[position] = task.model_copy(update={"inputs": inputs, "dependencies": deps})
    if not fixes:
        return spec, [], issues
    return TaskTreeSpec(tasks=tasks), fixes, issues
