"""Everything the request names is used as what it is, and nothing is invented.

Deterministic checks on a valid tree, against the request's own words:

- a URL the request names must be the ``url`` of a task that fetches it. A small model
  asked to "scrape A, B and C, then compare them" writes one scrape of A and pastes B and C
  into the prompt as text, so the comparison never sees them. That is repaired here: each
  pasted URL gets a task like the one fetching its sibling, and the prompt reads its result.
- a URL the tree calls that the request never named (an endpoint on localhost standing in
  for a command) is invented; it is reported, and when the request asks for a capability
  the caller's policy switched off, generation stops with a message saying how to allow it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from apflow.core.errors import GenerationError
from apflow.spec import (
    AGGREGATOR,
    DependencySpec,
    ExecutorPolicy,
    Issue,
    TaskSpec,
    TaskTreeSpec,
)

_URL = re.compile(r"https?://[^\s<>\"'`\)\]\}]+", re.IGNORECASE)
#: Input fields that hold the address a task acts on.
URL_FIELDS = frozenset({"url", "endpoint", "href", "link", "uri"})
_REFERENCE = re.compile(r"\$\{([A-Za-z0-9_\-]+)\.result([^}]*)\}")
#: A request that asks for a program to be run (``run `git log` ``, "execute the shell
#: command", "run the script"). Words, not guesses: it only decides which error to give
#: when the executor that would do it is switched off.
_COMMAND = re.compile(
    r"\b(?:run|execute|exec)\b[^.;\n`]{0,20}`[^`]+`"
    r"|\b(?:run|execute|exec)\b[^.;\n]{0,40}\b(?:command|shell|script|program|cli)\b"
    r"|\bshell command\b|\bin (?:a|the) (?:shell|terminal)\b|\b(?:bash|sh|zsh)\s+-c\b",
    re.IGNORECASE,
)


def request_urls(requirement: str) -> list[str]:
    """URLs in the request, in order, without trailing punctuation, each once."""
    out: list[str] = []
    for match in _URL.finditer(requirement):
        url = match.group().rstrip(".,;:!?")
        if url not in out:
            out.append(url)
    return out


def _key(url: str) -> str:
    """Scheme-less host and path, lowercased host, no trailing slash: what makes two URLs
    the same resource for these checks (a query may be split into ``query``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return f"{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return ""


def _strings(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, str(index)))


def task_urls(task: TaskSpec) -> list[str]:
    """URLs a task acts on: literal values of its url-like inputs (nested ones too)."""
    return [
        text
        for path, text in _strings(task.inputs)
        if path and path[-1].lower() in URL_FIELDS and "${" not in text and _URL.match(text)
    ]


def asks_for_command(requirement: str) -> bool:
    return _COMMAND.search(requirement) is not None


def refuse_disabled_capability(
    requirement: str, registry: Any, policy: ExecutorPolicy, allow: list[str] | None
) -> None:
    """GenerationError when the request asks to run a program and ``command_executor`` is
    registered but switched off: a model offered no way to do it fakes one (it sent a
    command to an HTTP endpoint it made up on localhost)."""
    executor = "command_executor"
    if executor not in registry or policy.allows(executor) or not asks_for_command(requirement):
        return
    if allow is not None and executor not in allow:
        return  # the caller narrowed the offer on purpose; it knows what it left out
    raise GenerationError(
        "the request asks to run a command, and command_executor is disabled: "
        + policy.reason(executor),
        hint="set APFLOW_ALLOW_COMMANDS=1 and list the program in APFLOW_COMMAND_ALLOWLIST "
        "(e.g. APFLOW_COMMAND_ALLOWLIST=git), or describe the workflow without the command",
    )


def invented_urls(spec: TaskTreeSpec, requirement: str) -> list[tuple[str, str]]:
    """``(task id, url)`` for each URL the tree calls on a host the request never names."""
    named_hosts = {_host(u) for u in request_urls(requirement)}
    lowered = requirement.lower()
    out = []
    for task in spec.tasks:
        for url in task_urls(task):
            host = _host(url)
            if host and host not in named_hosts and host not in lowered:
                out.append((task.id, url))
    return out


def _fetchers(spec: TaskTreeSpec, wanted: set[str]) -> dict[str, TaskSpec]:
    """Request URL key -> the task that fetches it (by its url input)."""
    out: dict[str, TaskSpec] = {}
    for task in spec.tasks:
        for url in task_urls(task):
            if _key(url) in wanted:
                out.setdefault(_key(url), task)
    return out


def _next_id(spec: TaskTreeSpec) -> str:
    taken = set(spec.ids())
    numbered = [int(m.group(1)) for i in taken if (m := re.fullmatch(r"t(\d+)", i))]
    n = max(numbered, default=len(taken)) + 1
    while f"t{n}" in taken:
        n += 1
    return f"t{n}"


def _field_read_from(consumer: TaskSpec, producer_id: str) -> str:
    """The ``.result...`` tail the consumer already reads from ``producer_id`` (or '')."""
    for _path, text in _strings(consumer.inputs):
        for match in _REFERENCE.finditer(text):
            if match.group(1) == producer_id:
                return match.group(2)
    return ""


def pasted_urls_fetched(
    spec: TaskTreeSpec, requirement: str
) -> tuple[TaskTreeSpec, list[str], list[str]]:
    """Each request URL pasted into another input as text gets its own fetching task.

    The new task copies the task that fetches a sibling URL of the request (same executor,
    same inputs but the url), so "scrape A, B and C" becomes three scrapes whatever the
    model wrote for A. The task that pasted the URL then reads the new task's result (the
    field it reads from the sibling) and depends on it. Returns the tree, the fixes, and a
    warning for each request URL that no task uses and that this cannot place.
    """
    urls = request_urls(requirement)
    if not urls:
        return spec, [], []
    keys = {_key(u): u for u in urls}
    fetched = _fetchers(spec, set(keys))
    missing = [u for u in urls if _key(u) not in fetched]
    if not missing:
        return spec, [], []
    tasks = list(spec.tasks)
    fixes: list[str] = []
    warnings: list[str] = []
    for url in missing:
        consumers = [t for t in tasks if _pastes(t, url)]
        template = _sibling_fetcher(tasks, fetched, consumers)
        if not consumers or template is None:
            warnings.append(
                f"the request names {url}, and no task fetches it"
                + (" (it is pasted into a task's text)" if consumers else "")
            )
            continue
        new_id = _next_id(TaskTreeSpec.model_construct(tasks=tasks))
        inputs = {**template.inputs, "url": url}
        new = template.model_copy(
            update={"id": new_id, "name": template.name, "inputs": inputs, "dependencies": []}
        )
        position = max(tasks.index(template), *(tasks.index(t) for t in fetched.values())) + 1
        position = min(position, min(tasks.index(c) for c in consumers))
        tasks.insert(position, new)
        fetched[_key(url)] = new
        for consumer in consumers:
            tail = _field_read_from(consumer, template.id)
            reference = "${" + new_id + ".result" + tail + "}"
            updated = consumer.model_copy(
                update={
                    "inputs": _replaced(consumer.inputs, url, reference),
                    "dependencies": [*consumer.dependencies, DependencySpec(id=new_id)],
                }
            )
            tasks[tasks.index(consumer)] = updated
            fixes.append(
                f"{new_id}: added to fetch {url} with {template.executor}, which {consumer.id} "
                f"had pasted as text; {consumer.id} now reads {reference}"
            )
    if not fixes:
        return spec, [], warnings
    root = next((t for t in tasks if t.parent_id is None and t.executor == AGGREGATOR), None)
    if root is not None:
        added = [t.id for t in tasks if t.id not in spec.ids()]
        for new_id in added:
            tasks = [
                t.model_copy(update={"parent_id": root.id}) if t.id == new_id else t for t in tasks
            ]
        tasks[tasks.index(root)] = root.model_copy(
            update={"dependencies": [*root.dependencies, *(DependencySpec(id=i) for i in added)]}
        )
    return TaskTreeSpec(tasks=tasks), fixes, warnings


def _pastes(task: TaskSpec, url: str) -> bool:
    """Whether ``task`` holds ``url`` as text to read (a prompt, a template), not as the
    address it acts on: a task with a url of its own may be sending the link on purpose."""
    if task.executor == AGGREGATOR or task_urls(task):
        return False
    return any(
        url in text and not (path and path[-1].lower() in URL_FIELDS)
        for path, text in _strings(task.inputs)
    )


def _sibling_fetcher(
    tasks: list[TaskSpec], fetched: dict[str, TaskSpec], consumers: list[TaskSpec]
) -> TaskSpec | None:
    """The task fetching another request URL that a consumer reads (else any such task)."""
    fetchers = [t for t in fetched.values() if t in tasks]
    for consumer in consumers:
        for fetcher in fetchers:
            if fetcher.id in consumer.dependency_ids():
                return fetcher
    return fetchers[0] if fetchers else None


def _replaced(value: Any, url: str, reference: str) -> Any:
    if isinstance(value, str):
        return value.replace(url, reference)
    if isinstance(value, dict):
        return {k: _replaced(v, url, reference) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(v, url, reference) for v in value]
    return value


#: A request that asks for one task per item ("one task each", "each in its own task",
#: "separately", "one per item").
_EACH = re.compile(
    r"\bone (?:task|step|call|request) (?:each|per|for each)\b|\beach in its own\b"
    r"|\bseparately\b|\bseparate (?:tasks|steps|calls|requests)\b",
    re.IGNORECASE,
)


def _named_item(value: Any, requirement: str, ids: set[str]) -> bool:
    """A literal the request itself names (``cpu`` in "CPU, memory and disk facts"), and not
    a task id (a merge's ``sources`` lists tasks, not items to split over)."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return False
    text = str(value)
    return "${" not in text and text not in ids and text.lower() in requirement.lower()


def one_task_each(spec: TaskTreeSpec, requirement: str) -> tuple[TaskTreeSpec, list[str]]:
    """Split a task whose input lists several items into one task per item, when the request
    asks for one task each.

    The demo's request ("collect CPU, memory and disk facts in parallel, one task each")
    got one task with ``sections: [cpu, memory, disk]`` from the 1.5B model, whatever the
    prompt said. Only a task nothing depends on is split (a reference to its result could
    not say which part it meant), and only a list of literals that the request names
    each (not task ids: a merge's ``sources``).
    """
    if not _EACH.search(requirement):
        return spec, []
    needed = {d.id for t in spec.tasks for d in t.dependencies}
    ids = set(spec.ids())
    tasks = list(spec.tasks)
    fixes: list[str] = []
    for task in list(tasks):
        if task.executor == AGGREGATOR or task.id in needed:
            continue
        lists = [
            (key, value)
            for key, value in task.inputs.items()
            if isinstance(value, list)
            and len(value) > 1
            and all(_named_item(v, requirement, ids) for v in value)
        ]
        if len(lists) != 1:
            continue
        key, items = lists[0]
        at = tasks.index(task)
        clones = []
        for n, item in enumerate(items):
            clone_id = (
                task.id if n == 0 else _next_id(TaskTreeSpec.model_construct(tasks=tasks + clones))
            )
            clones.append(
                task.model_copy(update={"id": clone_id, "inputs": {**task.inputs, key: [item]}})
            )
        tasks[at : at + 1] = clones
        added = [c.id for c in clones[1:]]
        for index, other in enumerate(tasks):
            if other.parent_id is None and other.executor == AGGREGATOR:
                tasks[index] = other.model_copy(
                    update={
                        "dependencies": [
                            *other.dependencies,
                            *(DependencySpec(id=i) for i in added),
                        ]
                    }
                )
        fixes.append(
            f"{task.id}: split into {', '.join([task.id, *added])}, one per item of {key} "
            "(the request asks for one task each)"
        )
    if not fixes:
        return spec, []
    return TaskTreeSpec(tasks=tasks), fixes


def unused_urls(spec: TaskTreeSpec, requirement: str) -> list[Issue]:
    """A ``missing_step`` issue for each request URL that no task mentions at all.

    The 1.5B model drops a request's last step ("run pytest and post the output to URL" came
    back as the run alone); the URL it never wrote is the deterministic sign. A URL pasted
    as text is not reported here: ``pasted_urls_fetched`` places it.
    """
    written = json.dumps([t.inputs for t in spec.tasks], ensure_ascii=False)
    issues = []
    for url in request_urls(requirement):
        if url in written or _key(url) in {_key(u) for t in spec.tasks for u in task_urls(t)}:
            continue
        issues.append(
            Issue(
                code="missing_step",
                message=f"the request names {url}, and no task uses it",
                hint=f"add the task the request asks for with {url} (in its url input), "
                "after the tasks whose output it needs, and keep every other task",
            )
        )
    return issues
