"""One generation in progress: model calls, stats, events, and the validate/repair loop.

The loop is shared by every mode: parse the answer tolerantly, validate it, apply the
deterministic repairs, and re-ask the model with the remaining issues (message + hint)
until the tree is valid or the repair budget is spent. It never returns an invalid tree.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from apflow.core.bus import EventBus, EventKind, GenerationPhase, ModelCall
from apflow.core.errors import GenerationError
from apflow.core.task_fields import expand_bare_ids
from apflow.core.utils.logger import get_logger
from apflow.generator import prompting
from apflow.generator.coverage import (
    invented_urls,
    one_task_each,
    pasted_urls_fetched,
    unused_urls,
)
from apflow.generator.examples import compact, working_tasks
from apflow.generator.lookups import wired_lookups
from apflow.generator.ordering import ordered_by_effects
from apflow.generator.parsing import tasks_from
from apflow.generator.result import Attempt, GenerationEvent, GenerationStats, generation_bus
from apflow.generator.runaway import TreeWatch
from apflow.generator.schemas import need_id
from apflow.llm.base import Completion, DecodeGuard, LLMClient, Message, decode_guard
from apflow.llm.json_answer import JSONParseError, parse_json
from apflow.spec import ExecutorPolicy, Issue, TaskTreeSpec, ValidationReport, validate_tree

logger = get_logger(__name__)
#: How much of an unreadable answer is sent back when re-asking.
SHOWN_CHARS = 2000
_TASK_INDEX = re.compile(r"^tasks\[\d+\]\.?")


@dataclass
class Checked:
    """A model answer after parse, validation and deterministic repair."""

    tasks: Any  # what we will show the model next: repaired list, raw list, or raw text
    spec: TaskTreeSpec | None
    issues: list[Issue]
    fixes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.spec is not None and not self.issues


@dataclass
class Generation:
    """State of one ``generate_tree`` call: the client, the attempts, the fixes, the stats."""

    client: LLMClient
    registry: Any
    policy: ExecutorPolicy
    requirement: str
    on_event: Callable[[GenerationEvent], None] | None = None
    repair: bool = True
    stats: GenerationStats = field(default_factory=GenerationStats)
    attempts: list[Attempt] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: ``time.monotonic()`` instant the whole generation must end by (None: no budget).
    deadline: float | None = None
    budget: float | None = None
    watch: TreeWatch | None = None
    #: Catalogue entries offered to the model (output schemas name what a lookup returns).
    offered: list[dict[str, Any]] = field(default_factory=list)
    #: Where phase and model-call events go; ``on_event`` is fed from it (``generation_bus``).
    bus: EventBus | None = None

    def __post_init__(self) -> None:
        if self.watch is None:
            self.watch = TreeWatch(self.requirement)
        self.bus = generation_bus(self.bus, self.on_event)

    def emit(self, phase: str, status: str, detail: str = "", **data: Any) -> None:
        kind = EventKind(f"generate:{status}")
        if self.bus.listening(kind):  # a subscriber's exception is logged, never raised
            self.bus.publish(GenerationPhase(kind, phase, detail, data, self.bus.name))

    @contextmanager
    def phase(self, name: str, detail: str = "") -> Iterator[None]:
        """Time a phase into ``seconds_by_phase`` and emit its start and end."""
        self.emit(name, "start", detail)
        started = time.perf_counter()
        ok = False
        try:
            yield
            ok = True
        finally:
            spent = time.perf_counter() - started
            seconds = self.stats.seconds_by_phase
            seconds[name] = round(seconds.get(name, 0.0) + spent, 4)
            self.emit(name, "done" if ok else "failed", f"{spent:.2f}s")

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _late(self, what: str) -> GenerationError:
        return GenerationError(
            f"the generation's time budget of {self.budget:g} s ran out {what} "
            f"({len(self.attempts)} answer(s) so far, none a valid tree)",
            attempts=[a.to_dict() for a in self.attempts],
            hint="raise it with APFLOW_GENERATION_TIMEOUT (seconds) or time_budget=, make the "
            "requirement shorter, or use a faster model (--model)",
        )

    async def ask(
        self, messages: list[Message], *, schema: dict[str, Any] | None, max_tokens: int
    ) -> Completion:
        if self.out_of_time():
            raise self._late("before the next model call")
        guard = decode_guard.set(DecodeGuard(deadline=self.deadline, stop=self.watch))
        started = time.perf_counter()
        try:
            completion = await self.client.complete(
                messages, json_schema=schema, temperature=0.0, max_tokens=max_tokens
            )
        finally:
            decode_guard.reset(guard)
        usage, seconds = completion.usage, round(time.perf_counter() - started, 4)
        model = completion.model or str(getattr(self.client, "model", ""))
        tokens = (usage.prompt_tokens, usage.completion_tokens)
        self.bus.publish(ModelCall(model, *tokens, seconds, self.bus.name))
        self.stats.llm_calls += 1
        self.stats.prompt_tokens += completion.usage.prompt_tokens
        self.stats.completion_tokens += completion.usage.completion_tokens
        if completion.usage.forced_tokens:
            self.stats.forced_tokens += completion.usage.forced_tokens
            self.stats.decoded_tokens += (
                completion.usage.completion_tokens - completion.usage.forced_tokens
            )
        return completion

    def record(
        self,
        phase: str,
        messages: list[Message],
        text: str,
        checked: Checked | None,
        detail: str = "",
    ) -> Attempt:
        attempt = Attempt(
            number=len(self.attempts) + 1,
            phase=phase,
            messages=[dict(m) for m in messages],
            response=text,
        )
        if checked is not None:
            attempt.fixes = list(checked.fixes)
            attempt.issues = [i.model_dump() for i in checked.issues]
            attempt.valid = checked.valid
        self.attempts.append(attempt)
        codes = [i["code"] for i in attempt.issues]
        if checked is not None:
            detail = "valid" if attempt.valid else "issues: " + ", ".join(codes)
        self.emit(phase, "attempt", detail, attempt=attempt.number, issues=codes)
        return attempt

    def finished(self, spec: TaskTreeSpec) -> TaskTreeSpec:
        """The valid tree made to do what the request says, by rules that need no judgement.

        Each request URL pasted as text gets its own fetching task and "one task each" splits a
        task over the items it lists (``coverage``), a made-up identifier is wired to the task
        that returns it (``lookups``), then side effects keep the request's order
        (``ordering``); what cannot be fixed this way becomes a warning. Each step is checked
        again (and repaired, or dropped, if the tree would not be valid), so a valid tree is
        never made invalid here.
        """
        covered, fixes, warnings = pasted_urls_fetched(spec, self.requirement)
        self.warnings.extend(warnings)
        spec = self._kept_if_valid(spec, covered, fixes, "fetching pasted URLs")
        split, fixes = one_task_each(spec, self.requirement)
        spec = self._kept_if_valid(spec, split, fixes, "one task per item")
        wired, fixes, _made_up = wired_lookups(spec, self.requirement, self.offered)
        spec = self._kept_if_valid(spec, wired, fixes, "wiring lookups")
        ordered, fixes = ordered_by_effects(spec, self.registry)
        spec = self._kept_if_valid(spec, ordered, fixes, "side-effect ordering")
        self.warnings.extend(self.watch.notes if self.watch else [])
        for task_id, url in invented_urls(spec, self.requirement):
            self.warnings.append(
                f"{task_id} calls {url}, whose host the request does not name: check that "
                "the endpoint exists and is the one meant before running the tree"
            )
        return spec

    def _kept_if_valid(
        self, before: TaskTreeSpec, after: TaskTreeSpec, fixes: list[str], what: str
    ) -> TaskTreeSpec:
        if not fixes:
            return before
        report = validate_tree(after, self.registry, policy=self.policy)
        if not report.valid:  # e.g. a split root-less tree now needs a root: repair adds it
            repaired, more = _deterministic_repair(after, report, self.registry)
            if (
                repaired is None
                or not validate_tree(repaired, self.registry, policy=self.policy).valid
            ):
                logger.warning("%s made the tree invalid (%s); kept it as it was", what, report)
                return before
            after, fixes = repaired, [*fixes, *more]
        self.fixes.extend(fixes)
        return after

    # -- checking ------------------------------------------------------------------------

    def check(self, text: str) -> Checked:
        """Parse, validate, and apply deterministic repairs to one answer."""
        try:
            tasks = _bare_dependencies_expanded(tasks_from(parse_json(text)))
        except JSONParseError as exc:
            issue = Issue(code="invalid_json", message=exc.args[0], hint=exc.hint or "")
            return Checked(text, None, [issue])
        merged: list[str] = []
        if self.repair:
            tasks, merged = repeats_merged(tasks)
        report = validate_tree(tasks, self.registry, policy=self.policy)
        if report.valid or not self.repair:
            return Checked(tasks, report.spec, report.issues, merged)
        spec, fixes = _deterministic_repair(tasks, report, self.registry)
        if not fixes or spec is None:
            return Checked(tasks, report.spec, report.issues, merged)
        again = validate_tree(spec, self.registry, policy=self.policy)
        return Checked(spec.to_list(), again.spec, again.issues, merged + fixes)

    async def settle(
        self,
        phase: str,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None,
        max_tokens: int,
        max_repairs: int,
        ask_for_missing: bool = False,
    ) -> TaskTreeSpec:
        """Ask, then validate and re-ask until valid; raise GenerationError when out of budget.

        With ``ask_for_missing`` (an answer may add tasks: single-shot), a valid tree that
        left out a step whose URL the request names, or made up an identifier a lookup should
        return, is re-asked for once with hints naming what is missing (``missing``); the
        better of the two valid answers is kept, and what is still missing becomes a warning.
        """
        with self.phase(phase):
            completion = await self.ask(messages, schema=schema, max_tokens=max_tokens)
        held: tuple[Checked, list[Issue]] | None = None  # valid, kept while asking for more
        for round_ in range(max_repairs + 1):
            with self.phase("validate"):
                checked = self.check(completion.text)
            self.record(phase if round_ == 0 else "repair", messages, completion.text, checked)
            if checked.valid and checked.spec is not None:
                soft = self.missing(checked.spec) if ask_for_missing else []
                if held is not None and len(soft) >= len(held[1]):
                    checked, soft = held  # the re-ask did no better: keep the first answer
                last = (
                    held is not None
                    or round_ == max_repairs
                    or self.out_of_time()
                    or (self.watch is not None and self.watch.late)
                )
                if not soft or last:
                    return self.accepted(checked, soft)
                held = (checked, soft)
                shown = Checked(checked.tasks, checked.spec, soft, checked.fixes)
                messages = self.reask_messages(messages, completion.text, shown, round_ == 0)
                with self.phase("repair", "a made-up value: asking for the lookup"):
                    completion = await self.ask(messages, schema=schema, max_tokens=max_tokens)
                continue
            if held is not None:  # the re-ask for a lookup broke the tree: keep the valid one
                return self.accepted(*held)
            if round_ == max_repairs:
                break
            if self.out_of_time():
                raise self._late("before a re-ask")
            messages = self.reask_messages(messages, completion.text, checked, round_ == 0)
            with self.phase("repair", f"attempt {round_ + 1} of {max_repairs}"):
                completion = await self.ask(messages, schema=schema, max_tokens=max_tokens)
        raise GenerationError(
            f"no valid tree after {len(self.attempts)} attempt(s) with {self.client.model}; "
            f"{len(checked.issues)} issue(s) remain: "
            + "; ".join(i.line() for i in checked.issues[:3]),
            last_tree=checked.tasks,
            issues=checked.issues,
            attempts=[a.to_dict() for a in self.attempts],
            hint="make the requirement more specific, allow more executors, or use a "
            "stronger model (--model)",
        )

    def missing(self, spec: TaskTreeSpec) -> list[Issue]:
        """What a valid tree left out or made up: request URLs no task uses (``coverage``)
        and identifiers no task of it looks up (``lookups``)."""
        _wired, _fixes, issues = wired_lookups(spec, self.requirement, self.offered)
        return [*unused_urls(spec, self.requirement), *issues]

    def accepted(self, checked: Checked, soft: list[Issue]) -> TaskTreeSpec:
        assert checked.spec is not None
        self.fixes = list(checked.fixes)  # earlier answers' fixes stay in attempts
        self.warnings.extend(
            (f"{i.task_id}: " if i.task_id else "") + f"{i.message}; {i.hint}" for i in soft
        )
        return checked.spec

    def reask_messages(
        self, messages: list[Message], text: str, checked: Checked, first: bool
    ) -> list[Message]:
        """The original request, the model's tree (as repaired so far), then the issues."""
        base = messages if first else messages[:-2]
        if isinstance(checked.tasks, str):  # unreadable: show its start, not a runaway answer
            shown = text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + " ..."
        else:
            shown = compact({"tasks": working_tasks(checked.tasks)})
        # Paths relative to the task: the tree shown has no root, so indices would mislead.
        issues = [{**i.model_dump(), "path": _TASK_INDEX.sub("", i.path)} for i in checked.issues]
        reask = prompting.render("repair.j2", issues=issues, requirement=self.requirement)
        return [*base, {"role": "assistant", "content": shown}, {"role": "user", "content": reask}]


def _bare_dependencies_expanded(tasks: list[Any]) -> list[Any]:
    """``["a"]`` -> ``[{"id": "a", "required": true}]``: the form we ask for is not a fix."""
    out = []
    for task in tasks:
        deps = task.get("dependencies") if isinstance(task, dict) else None
        if isinstance(deps, list) and any(isinstance(d, str) for d in deps):
            task = {**task, "dependencies": expand_bare_ids(deps)}
        out.append(task)
    return out


def repeats_merged(tasks: list[Any]) -> tuple[list[Any], list[str]]:
    """Drop each task that repeats an earlier one verbatim, pointing its dependents at the first.

    A repeat has the same executor, inputs and name as the first task, waits on it, and on
    nothing else but what the first one waits on. A 1.5B model writes this as a stutter ("call
    the search tool", then "get the response from the search tool", the same call depending on
    the first): running it would only do the same work twice. Two equal tasks side by side
    are left alone (a caller may mean two runs), and so are trees a user writes: this is
    applied to model answers only.
    """
    kept: list[Any] = []
    first_of: dict[str, str] = {}  # repeat id -> the id of the task it repeats
    fixes: list[str] = []
    for task in tasks:
        original = _repeated(task, kept, first_of)
        if original is None:
            kept.append(task)
            continue
        first_of[task["id"]] = original
        fixes.append(
            f"{task['id']}: repeats {original} (same executor and inputs); merged into {original}"
        )
    if not first_of:
        return tasks, []
    return [_redirected(t, first_of) for t in kept], fixes


def _deps_of(task: dict[str, Any]) -> list[str]:
    deps = task.get("dependencies")
    if not isinstance(deps, list):
        return []
    return [str(need_id(d)) for d in deps]


def _repeated(task: Any, kept: list[Any], first_of: dict[str, str]) -> str | None:
    if not isinstance(task, dict) or not isinstance(task.get("id"), str):
        return None
    schemas = task.get("schemas")
    method = schemas.get("method") if isinstance(schemas, dict) else None
    if not method or task.get("id") in first_of:
        return None
    deps = {first_of.get(d, d) for d in _deps_of(task)}
    for earlier in kept:
        if not isinstance(earlier, dict) or earlier.get("id") == task["id"]:
            continue
        schemas = earlier.get("schemas")
        if not isinstance(schemas, dict) or schemas.get("method") != method:
            continue
        same = all(earlier.get(key) == task.get(key) for key in ("inputs", "name", "parent_id"))
        if same and earlier["id"] in deps and deps <= {earlier["id"], *_deps_of(earlier)}:
            return str(earlier["id"])
    return None


def _redirected(task: Any, first_of: dict[str, str]) -> Any:
    """The task with dependencies on, and references to, merged repeats moved to the first."""
    if not isinstance(task, dict):
        return task
    out = dict(task)
    deps = task.get("dependencies")
    if isinstance(deps, list):
        seen: set[str] = set()
        moved = []
        for dep in deps:
            dep_id = str(need_id(dep))
            target = first_of.get(dep_id, dep_id)
            if target in seen or target == task.get("id"):
                continue
            seen.add(target)
            if target != dep_id:
                dep = {**dep, "id": target} if isinstance(dep, dict) else target
            moved.append(dep)
        out["dependencies"] = moved
    if "inputs" in task:
        out["inputs"] = _references_moved(task["inputs"], first_of)
    return out


def _references_moved(value: Any, first_of: dict[str, str]) -> Any:
    if isinstance(value, str):
        for repeat, original in first_of.items():
            value = value.replace("${" + repeat + ".", "${" + original + ".").replace(
                "${" + repeat + "}", "${" + original + "}"
            )
        return value
    if isinstance(value, list):
        return [_references_moved(v, first_of) for v in value]
    if isinstance(value, dict):
        return {k: _references_moved(v, first_of) for k, v in value.items()}
    return value


def _deterministic_repair(
    tasks: Any, report: ValidationReport, registry: Any
) -> tuple[TaskTreeSpec | None, list[str]]:
    from apflow.spec import repair_tree

    try:
        return repair_tree(tasks, report, registry)
    except Exception as exc:  # repair is best effort: the re-ask still shows every issue
        logger.info("deterministic repair skipped: %s", exc)
        return None, []
