"""Stop a tree that repeats itself while it is being written, and end one that runs late.

A small model can fall into a loop at the level of whole tasks: a held-back request of
three steps came back after 352 s as ten tasks, its last two steps repeated until the task
limit (four identical PUTs to one URL). The token-level runaway guard cannot see that, and
the grammar allows it. This watches the answer while it is decoded (``DecodeGuard``): once
a finished task repeats an earlier one (same executor, same inputs) and the request gives
no reason to do a thing twice, the answer ends before the repeat. When the generation's
time budget runs out, the answer ends after its last finished task.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from apflow.llm.json_answer import structure

#: Words that give a reason to make the same call more than once.
_AGAIN = re.compile(r"\b(twice|again|two times|\d+ times|repeat\w*|each time)\b", re.I)
_CLOSE = "]}"
#: Repeats in a row that make a loop. One repeat alone is a stutter the generator merges
#: afterwards ("call the search", then "get the response of the search"), and the model
#: writes on past it; two in a row is the loop seen in practice (two steps, over and over).
RUN = 2


def task_ends(text: str) -> list[int]:
    """Offsets just after each finished task object of a ``{"tasks":[...`` answer so far."""
    # {"tasks":[ {task} : a task's closing brace stands at depth 3
    return [index + 1 for index, char, depth in structure(text) if char == "}" and depth == 3]


def finished_tasks(text: str, end: int) -> list[dict[str, Any]] | None:
    """The tasks in ``text[:end]`` closed as a whole answer, or None if that is not JSON."""
    try:
        data = json.loads(text[:end] + _CLOSE)
    except json.JSONDecodeError:
        return None
    tasks = data.get("tasks") if isinstance(data, dict) else None
    return tasks if isinstance(tasks, list) else None


_REFERENCE = re.compile(r"\$\{([A-Za-z0-9_\-]+)(\.[^}]*)?\}")


def _signature(task: Any, wiring: bool = True) -> str:
    """What makes two tasks (or two plan steps) the same work, ids aside; with ``wiring``
    false, also whichever task a ``${...}`` reference reads (``${t3.result.json}`` and
    ``${t5.result.json}`` alike)."""
    if not isinstance(task, dict):
        return ""
    if "schemas" not in task:  # a plan step: the same executor doing the same thing
        return json.dumps([task.get("executor"), task.get("does")], default=str)
    schemas = task.get("schemas")
    method = schemas.get("method") if isinstance(schemas, dict) else schemas
    text = json.dumps([method, task.get("inputs") or {}], sort_keys=True, default=str)
    return text if wiring else _REFERENCE.sub(r"${*\2}", text)


def _read_ids(task: Any) -> set[str]:
    text = json.dumps(task.get("inputs") or {}, default=str) if isinstance(task, dict) else ""
    return {m.group(1) for m in _REFERENCE.finditer(text)}


def _repeats(tasks: list[Any]) -> list[bool]:
    """For each task: does it repeat earlier work? The same executor and inputs, or the same
    but for which task it reads when that task is itself such a step (a loop feeding itself:
    "list the names from ${t4.result.json}", then "... from ${t5.result.json}", ...). Two
    steps alike over different inputs ("summarise A", "summarise B") are not repeats."""
    exact = [_signature(t) for t in tasks]
    loose = [_signature(t, wiring=False) for t in tasks]
    ids = [t.get("id") if isinstance(t, dict) else None for t in tasks]
    out = []
    for k, task in enumerate(tasks):
        same_shape = {ids[j] for j in range(k) if loose[j] == loose[k]}
        out.append(exact[k] in exact[:k] or bool(same_shape & _read_ids(task)))
    return out


@dataclass
class TreeWatch:
    """The ``stop`` of a DecodeGuard for tree answers; remembers why it ended one."""

    requirement: str
    #: What the watch did, for the generation's warnings (one line each).
    notes: list[str] = field(default_factory=list)
    #: True once an answer was ended because the time budget ran out.
    late: bool = False

    def __call__(self, text: str, late: bool) -> str | None:
        ends = task_ends(text)
        if late:
            self.late = True
            if not ends:
                return None
            self.notes.append(
                f"the time budget ran out while the model wrote task {len(ends) + 1}; "
                f"the tree keeps the {len(ends)} task(s) finished by then"
            )
            return text[: ends[-1]] + _CLOSE
        if len(ends) < 1 + RUN or _AGAIN.search(self.requirement):
            return None
        tasks = finished_tasks(text, ends[-1])
        if not tasks or len(tasks) != len(ends):
            return None
        repeated = _repeats(tasks)
        start = len(tasks)  # the run of trailing tasks that each repeat an earlier one
        while start > 1 and repeated[start - 1]:
            start -= 1
        if len(tasks) - start < RUN:
            return None
        self.notes.append(
            f"the model began repeating itself (tasks {start + 1}-{len(tasks)} repeat earlier "
            f"work: same executor and inputs); the answer was ended after task {start}"
        )
        return text[: ends[start - 1]] + _CLOSE
