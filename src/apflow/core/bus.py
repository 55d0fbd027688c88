"""The event bus: one way to hear what happened, by named kind of event.

Publishers (the engine, the generator, the hooks) build a small frozen event and call
:meth:`EventBus.publish`; subscribers pick the kinds they want with :meth:`EventBus.subscribe`.
A subscriber's exception is logged and never reaches the publisher. Sync callbacks run
inline, in subscription order; an async callback's coroutine is scheduled on the running
loop (:meth:`EventBus.drain` waits for those).

There is one bus per process (:data:`PROCESS_BUS`). :func:`current_bus` is it unless
:func:`use_bus` scoped another one (a test, a server); a ``TaskManager`` or ``generate_tree``
given ``bus=`` publishes there instead. A bus made with ``parent=`` passes every event on to
its parent after its own subscribers: that is how ``on_state_change`` and ``on_event``
hear only their own run while the process bus hears them all.

The event classes are defined in :mod:`apflow.core.bus_events` and importable from here.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from apflow.core.bus_events import (
    ApprovalEvent,
    Event,
    EventKind,
    GenerationPhase,
    HookEvent,
    ModelCall,
    ScheduleFired,
    TasksCommitted,
    TaskStateChanged,
    TreeEvent,
)
from apflow.core.utils.logger import get_logger

__all__ = [
    "PROCESS_BUS",
    "ApprovalEvent",
    "Event",
    "EventBus",
    "EventKind",
    "GenerationPhase",
    "HookEvent",
    "ModelCall",
    "ScheduleFired",
    "Subscriber",
    "TaskStateChanged",
    "TasksCommitted",
    "TreeEvent",
    "current_bus",
    "use_bus",
]

logger = get_logger(__name__)

#: ``callback(event)``; may be ``async def``.
Subscriber = Callable[[Any], Any]


@dataclass(frozen=True, eq=False)
class _Subscription:
    kinds: frozenset[EventKind] | None  # None: every kind
    callback: Subscriber


def _kinds(kinds: EventKind | str | Iterable[EventKind | str] | None) -> frozenset | None:
    if kinds is None:
        return None
    if isinstance(kinds, str):
        kinds = [kinds]
    wanted = set()
    for kind in kinds:
        try:
            wanted.add(EventKind(kind))
        except ValueError:
            known = ", ".join(k.value for k in EventKind)
            raise ValueError(f"unknown event kind {kind!r}; known: {known}") from None
    return frozenset(wanted)


class EventBus:
    """Subscribers by event kind; ``parent`` (if any) hears every event published here too."""

    def __init__(self, parent: EventBus | None = None, *, name: str = "") -> None:
        self.parent = parent
        self.name = name
        self._subscriptions: tuple[_Subscription, ...] = ()
        #: kind -> callbacks, rebuilt on first publish after a (un)subscribe.
        self._by_kind: dict[EventKind, tuple[Subscriber, ...]] = {}
        self._lock = threading.Lock()
        self._pending: set[asyncio.Future] = set()

    def __repr__(self) -> str:
        return f"EventBus({self.name or hex(id(self))}, {len(self._subscriptions)} subscriber(s))"

    def subscribe(
        self, kinds: EventKind | str | Iterable[EventKind | str] | None, callback: Subscriber
    ) -> Callable[[], None]:
        """Call ``callback(event)`` for each event of ``kinds`` (None: every kind).

        Returns a function that unsubscribes it (calling it twice is harmless). Raises
        ValueError naming the known kinds for a kind that does not exist.
        """
        subscription = _Subscription(_kinds(kinds), callback)
        with self._lock:
            self._subscriptions = (*self._subscriptions, subscription)
            self._by_kind = {}

        def unsubscribe() -> None:
            with self._lock:
                kept = tuple(s for s in self._subscriptions if s is not subscription)
                if len(kept) != len(self._subscriptions):
                    self._subscriptions = kept
                    self._by_kind = {}

        return unsubscribe

    @contextmanager
    def subscribed(
        self, kinds: EventKind | str | Iterable[EventKind | str] | None, callback: Subscriber
    ) -> Iterator[None]:
        """:meth:`subscribe` for the duration of a ``with`` block."""
        unsubscribe = self.subscribe(kinds, callback)
        try:
            yield
        finally:
            unsubscribe()

    def _callbacks(self, kind: EventKind) -> tuple[Subscriber, ...]:
        found = self._by_kind.get(kind)
        if found is None:
            with self._lock:
                found = tuple(
                    s.callback for s in self._subscriptions if s.kinds is None or kind in s.kinds
                )
                self._by_kind[kind] = found
        return found

    def listening(self, kind: EventKind) -> bool:
        """Whether an event of ``kind`` would reach anyone (here or up the parents).

        Publishers on a hot path check this first so an unheard event is never built.
        """
        bus: EventBus | None = self
        while bus is not None:
            if bus._callbacks(kind):
                return True
            bus = bus.parent
        return False

    def publish(self, event: Event) -> None:
        """Hand ``event`` to this bus's subscribers of its kind, then to the parent's."""
        bus: EventBus | None = self
        while bus is not None:
            for callback in bus._callbacks(event.kind):
                bus._deliver(callback, event)
            bus = bus.parent

    def _deliver(self, callback: Subscriber, event: Event) -> None:
        try:
            outcome = callback(event)
        except Exception:
            logger.exception("event subscriber %r failed on %s", callback, event.kind.value)
            return
        if inspect.isawaitable(outcome):
            self._schedule(outcome, callback, event)

    def _schedule(self, awaitable: Any, callback: Subscriber, event: Event) -> None:
        async def guarded() -> None:
            try:
                await awaitable
            except Exception:
                logger.exception("event subscriber %r failed on %s", callback, event.kind.value)

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # published from sync code with no loop: run it here
            asyncio.run(guarded())
            return
        future = loop.create_task(guarded())
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait until the async subscribers have handled everything published so far."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def subscriber_count(self) -> int:
        """Subscribers of this bus (not its parents')."""
        return len(self._subscriptions)


#: The bus of this process: what :func:`current_bus` is unless a scope chose another.
PROCESS_BUS = EventBus(name="process")
_current: ContextVar[EventBus | None] = ContextVar("apflow_event_bus", default=None)


def current_bus() -> EventBus:
    """The bus of the current scope (:func:`use_bus`), else :data:`PROCESS_BUS`."""
    return _current.get() or PROCESS_BUS


@contextmanager
def use_bus(bus: EventBus) -> Iterator[EventBus]:
    """Make ``bus`` the :func:`current_bus` in this context (and tasks started in it)."""
    token = _current.set(bus)
    try:
        yield bus
    finally:
        _current.reset(token)
