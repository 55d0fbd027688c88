"""The executor registry: built-ins and plugins register the same way.

Packages expose executors through the ``apflow.executors`` entry-point group: an
entry point names an executor class, or a callable ``register(registry)`` (apflow's
own built-ins are ``builtin = "apflow.executors:register_builtins"``). Entry points
are loaded on a registry's first lookup, so ``import apflow`` stays cheap.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Any, TypeVar

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from apflow.core.errors import ExecutorNotFound, ExecutorRegistrationError
from apflow.core.executor import BaseTask, snake_case
from apflow.core.utils.logger import get_logger
from apflow.core.utils.similar import close_matches

logger = get_logger(__name__)
ENTRY_POINT_GROUP = "apflow.executors"
T = TypeVar("T", bound=type)


class ExecutorRegistry:
    """Maps executor ids to executor classes."""

    def __init__(self, *, load_plugins: bool = False) -> None:
        self._classes: dict[str, type[BaseTask]] = {}
        self._load_plugins = load_plugins
        self._plugins_loaded = not load_plugins
        self._lock = threading.RLock()

    # -- registration ---------------------------------------------------------------------

    def register(self, cls: type[BaseTask], *, id: str | None = None, override: bool = False):
        """Register ``cls`` under ``id`` (default: its ``id`` attribute, else snake_case name)."""
        if not isinstance(cls, type) or not callable(getattr(cls, "execute", None)):
            raise ExecutorRegistrationError(f"{cls!r} is not an executor class with execute()")
        executor_id = id or getattr(cls, "id", "") or snake_case(cls.__name__)
        try:
            instance = cls()
            schema = instance.get_input_schema()
            Draft202012Validator.check_schema(schema)
            output = instance.get_output_schema()
            if output is not None:
                Draft202012Validator.check_schema(output)
        except SchemaError as exc:
            raise ExecutorRegistrationError(
                f"executor {executor_id!r} has an invalid JSON Schema: {exc.message}",
                hint="fix get_input_schema()/get_output_schema(); it must be Draft 2020-12",
            ) from exc
        except Exception as exc:
            raise ExecutorRegistrationError(
                f"executor {executor_id!r} could not be instantiated without arguments: {exc}"
            ) from exc
        if not isinstance(schema, dict):
            raise ExecutorRegistrationError(
                f"executor {executor_id!r}: input schema must be a dict"
            )
        offer_when = getattr(cls, "offer_when", "") or ""
        try:
            re.compile(offer_when)
        except (re.error, TypeError) as exc:
            raise ExecutorRegistrationError(
                f"executor {executor_id!r}: offer_when is not a regular expression: {exc}",
                hint="set offer_when to a Python regex such as r'\\b(merge|pick)\\b', or ''",
            ) from None
        effects = getattr(cls, "effects", None)
        if effects is not None and effects not in ("read", "write"):
            raise ExecutorRegistrationError(
                f"executor {executor_id!r}: effects must be 'read', 'write' or None, "
                f"got {effects!r}",
                hint="set effects = 'read' when a call only reads, 'write' when it changes "
                "anything outside the tree; override effect(inputs) when it depends on inputs",
            )
        with self._lock:
            existing = self._classes.get(executor_id)
            if existing is not None and existing is not cls and not override:
                same = (existing.__module__, existing.__qualname__) == (
                    cls.__module__,
                    cls.__qualname__,
                )
                if not same:
                    raise ExecutorRegistrationError(
                        f"executor id {executor_id!r} is already registered by "
                        f"{existing.__module__}.{existing.__qualname__}",
                        hint="pick another id, or pass override=True to replace it",
                    )
            if not getattr(cls, "id", ""):
                cls.id = executor_id
            self._classes[executor_id] = cls
        return cls

    def unregister(self, executor_id: str) -> None:
        with self._lock:
            self._classes.pop(executor_id, None)

    @contextmanager
    def temporarily(self, *classes: type[BaseTask]) -> Iterator[ExecutorRegistry]:
        """Register classes for the duration of a ``with`` block (tests, evals)."""
        self._ensure_plugins()  # else the plugins loaded inside the block would be dropped
        before = dict(self._classes)
        try:
            for cls in classes:
                self.register(cls, override=True)
            yield self
        finally:
            with self._lock:
                self._classes = before

    def copy(self) -> ExecutorRegistry:
        """An independent registry with the same executors (plugins already loaded)."""
        self._ensure_plugins()
        clone = ExecutorRegistry()
        clone._classes = dict(self._classes)
        return clone

    # -- lookup ---------------------------------------------------------------------------

    def _ensure_plugins(self) -> None:
        if self._plugins_loaded:
            return
        with self._lock:
            if self._plugins_loaded:
                return
            self._plugins_loaded = True
            load_entry_points(self)

    def ids(self) -> list[str]:
        self._ensure_plugins()
        return sorted(self._classes)

    def __contains__(self, executor_id: object) -> bool:
        self._ensure_plugins()
        return executor_id in self._classes

    def get_class(self, executor_id: str) -> type[BaseTask]:
        self._ensure_plugins()
        cls = self._classes.get(executor_id)
        if cls is None:
            raise ExecutorNotFound(executor_id, self.closest(executor_id))
        return cls

    def get(self, executor_id: str) -> BaseTask:
        """A new instance of the executor registered under ``executor_id``."""
        return self.get_class(executor_id)()

    def closest(self, executor_id: str, n: int = 3) -> list[str]:
        ids = self.ids()
        close = close_matches(executor_id, ids, n=n, cutoff=0.4)
        if len(close) < n:
            lowered = executor_id.lower()
            close += [i for i in ids if lowered in i and i not in close][: n - len(close)]
        return close

    def describe(self, executor_id: str) -> dict[str, Any]:
        instance = self.get(executor_id)
        cls = type(instance)
        return {
            "id": executor_id,
            "name": cls.name or executor_id,
            "description": (cls.description or (cls.__doc__ or "")).strip(),
            "input_schema": instance.get_input_schema(),
            "output_schema": instance.get_output_schema(),
            "offer_when": getattr(cls, "offer_when", "") or "",
            "effects": getattr(cls, "effects", None),
            "unasked_inputs": list(getattr(cls, "unasked_inputs", ()) or ()),
            "effects_note": getattr(cls, "effects_note", "") or "",
        }

    def list(self) -> list[dict[str, Any]]:
        return [self.describe(i) for i in self.ids()]


def load_entry_points(registry: ExecutorRegistry) -> None:
    """Import every ``apflow.executors`` entry point; register classes they point at."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not take the registry down
            logger.error("could not load executor plugin %s (%s): %s", ep.name, ep.value, exc)
            continue
        if isinstance(obj, type) and issubclass(obj, BaseTask):
            if obj not in registry._classes.values():
                registry.register(obj)
        elif callable(obj) and not isinstance(obj, type) and not hasattr(obj, "__path__"):
            obj(registry)


default_registry = ExecutorRegistry(load_plugins=True)


def executor_register(
    cls: type[BaseTask] | None = None,
    *,
    id: str | None = None,
    override: bool = False,
    registry: ExecutorRegistry | None = None,
) -> Callable[[T], T] | Any:
    """Class decorator: ``@executor_register()`` or ``@executor_register(id="x")``."""
    target = registry or default_registry

    def decorate(klass: T) -> T:
        target.register(klass, id=id, override=override)
        return klass

    if cls is not None:
        return decorate(cls)
    return decorate


def get_executor(executor_id: str) -> BaseTask:
    """A new instance of a registered executor; ``ExecutorNotFound`` names the closest ids."""
    return default_registry.get(executor_id)


def list_executors() -> list[dict[str, Any]]:
    """Every registered executor: id, name, description, input and output schema."""
    return default_registry.list()
