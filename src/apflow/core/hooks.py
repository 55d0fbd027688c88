"""Pre- and post-execution hooks.

Hooks run in registration order, see each other's changes, and never fail a task:
an exception is logged with the task id. During a run, :func:`get_hook_repository`
returns the repository bound to that run's session.

Hooks are not bus subscribers (a pre-hook may change the task's inputs before it runs);
after each one, ``hook:ran`` or ``hook:failed`` is published on the current bus.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from apflow.core.bus import EventKind, HookEvent, current_bus
from apflow.core.utils.logger import get_logger

if TYPE_CHECKING:
    from apflow.core.repository import TaskRepository

logger = get_logger(__name__)

PreHook = Callable[[Any], Any]
PostHook = Callable[[Any, dict, dict], Any]

_pre_hooks: list[PreHook] = []
_post_hooks: list[PostHook] = []
_hook_repository: ContextVar[TaskRepository | None] = ContextVar(
    "apflow_hook_repository", default=None
)


def register_pre_hook(fn: PreHook) -> PreHook:
    """Register ``fn(task)`` to run before each task; usable as a decorator."""
    _pre_hooks.append(fn)
    return fn


def register_post_hook(fn: PostHook) -> PostHook:
    """Register ``fn(task, inputs, result)`` to run after each task; usable as a decorator."""
    _post_hooks.append(fn)
    return fn


def unregister_hook(fn: Callable) -> None:
    for hooks in (_pre_hooks, _post_hooks):
        while fn in hooks:
            hooks.remove(fn)


def clear_hooks() -> None:
    _pre_hooks.clear()
    _post_hooks.clear()


def has_hooks() -> bool:
    return bool(_pre_hooks or _post_hooks)


def get_hook_repository() -> TaskRepository | None:
    """The repository of the tree being run (same session as the engine), else None."""
    return _hook_repository.get()


@contextmanager
def hook_repository(repository: TaskRepository) -> Iterator[None]:
    """Make ``repository`` what :func:`get_hook_repository` returns while a tree runs."""
    token = _hook_repository.set(repository)
    try:
        yield
    finally:
        _hook_repository.reset(token)


async def _call(fn: Callable, args: tuple, kind: str, task: Any) -> None:
    error = None
    try:
        outcome = fn(*args)
        if inspect.isawaitable(outcome):
            await outcome
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        logger.exception(
            "%s hook %s failed for task %s", kind, getattr(fn, "__name__", fn), task.id
        )
    event_kind = EventKind.HOOK_RAN if error is None else EventKind.HOOK_FAILED
    bus = current_bus()
    if bus.listening(event_kind):
        name = getattr(fn, "__qualname__", None) or repr(fn)
        bus.publish(HookEvent(event_kind, name, kind, task.id, error))


async def run_pre_hooks(task: Any) -> None:
    """Run the pre-hooks in order; repository reads between them keep ``task.inputs``."""
    repository = _hook_repository.get()
    kept = repository.keeping_inputs(task) if repository is not None else nullcontext()
    with kept:
        for fn in list(_pre_hooks):
            await _call(fn, (task,), "pre", task)


async def run_post_hooks(task: Any, inputs: dict, result: dict) -> None:
    for fn in list(_post_hooks):
        await _call(fn, (task, inputs, result), "post", task)
