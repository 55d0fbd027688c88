"""The worker side of ``DaskRunner``: what runs inside a Dask worker process.

Workers never touch the database: they get the executor class, the inputs and a
snapshot of the task, run one attempt on the worker's event loop and send the outcome
back. Two things only a worker can do are done here:

- the timeout, enforced where the executor runs (the engine keeps a backstop);
- cancellation: Dask cannot stop a running task (dask/distributed#2617), so each
  worker process watches one ``distributed.Event`` per running tree and cancels that
  tree's coroutines when it is set;

``apflow worker`` preloads this module (``dask_setup``) so executors registered through
entry points are imported before the first task arrives.
"""

from __future__ import annotations

import asyncio
import pickle
import platform
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from apflow.core.executor import BaseTask, DependencyOutcome, TaskContext
from apflow.core.registry import default_registry
from apflow.core.results import cancelled, failed
from apflow.core.runners.base import TaskSnapshot, execute_attempt
from apflow.core.utils.logger import get_logger

logger = get_logger(__name__)

#: How long one cancel watch waits on the scheduler before checking it is still needed.
WATCH_SECONDS = 5.0


def _version_of(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def local_versions() -> dict[str, str]:
    """What must match between the engine and every worker."""
    return {
        "apflow": _version_of("apflow"),
        "dask": _version_of("dask"),
        "distributed": _version_of("distributed"),
        "python": ".".join(platform.python_version_tuple()[:2]),
    }


#: Computed once per process; every batch compares against it.
VERSIONS = local_versions()


def worker_versions() -> dict[str, str]:
    """This worker's versions, as the engine checks them when it connects."""
    return dict(VERSIONS)


def version_mismatch(expected: dict[str, str], actual: dict[str, str], where: str) -> str | None:
    """One sentence naming each package whose version differs, or None."""
    diffs = [
        f"{name} {actual.get(name, 'not installed')} (engine: {want})"
        for name, want in expected.items()
        if actual.get(name) != want
    ]
    if not diffs:
        return None
    return f"{where} runs " + ", ".join(diffs)


@dataclass
class ShippedAttempt:
    """An attempt as it travels to a worker: the executor class and plain-data context."""

    executor: type[BaseTask]
    executor_id: str
    inputs: dict[str, Any]
    timeout: float
    task: TaskSnapshot | None = None
    dependencies: list[DependencyOutcome] = field(default_factory=list)
    #: The engine's database, for executors that store trees of their own.
    database_url: str | None = None

    async def execute(self) -> dict[str, Any]:
        try:
            executor = self.executor()
        except Exception as exc:
            return failed(
                f"executor {self.executor_id!r} could not be created on the worker: {exc}",
                type(exc).__name__,
            )
        executor.context = TaskContext(
            task=self.task,
            dependencies=self.dependencies,
            registry=default_registry,  # this worker's; the engine's stays with the engine
            database_url=self.database_url,
        )
        return await execute_attempt(executor, self.inputs, self.timeout)


# -- cancellation ---------------------------------------------------------------------------


class _TreeWatch:
    """This process's running attempts of one tree run, and the watcher of its cancel flag."""

    def __init__(self, event_name: str) -> None:
        self.event_name = event_name
        self.tasks: set[asyncio.Task[Any]] = set()
        self.batches = 0  # batches of this tree running in this process
        self.cancelled = False
        self.watcher: asyncio.Task[None] | None = None

    def cancel_all(self) -> None:
        self.cancelled = True
        for task in list(self.tasks):
            task.cancel()


_watches: dict[str, _TreeWatch] = {}


async def _watch(watch: _TreeWatch, client: Any) -> None:
    """Wait on the tree's Event while this process runs some of its attempts."""
    from distributed import Event

    event = Event(watch.event_name, client=client)
    try:
        while watch.batches and not watch.cancelled:
            if await event.wait(timeout=WATCH_SECONDS):
                watch.cancel_all()
    except Exception:  # the scheduler went away: the attempts still end by their timeout
        logger.warning("cancel watch for %s stopped", watch.event_name, exc_info=True)
    finally:
        if _watches.get(watch.event_name) is watch and not watch.batches:
            del _watches[watch.event_name]


def _watch_tree(event_name: str, client: Any) -> _TreeWatch:
    """The process's watch of ``event_name``, with a watcher running; counts one batch."""
    watch = _watches.get(event_name)
    if watch is None:
        watch = _watches[event_name] = _TreeWatch(event_name)
    watch.batches += 1
    if watch.watcher is None or watch.watcher.done():
        watch.watcher = asyncio.ensure_future(_watch(watch, client))
    return watch


# -- running --------------------------------------------------------------------------------


def _result_size(outcome: dict[str, Any]) -> int:
    payload = (outcome.get("result"), outcome.get("meta"))
    return len(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))


def too_large(size: int, limit: int) -> dict[str, Any]:
    return failed(
        f"result is {size / 1e6:.1f} MB, over the {limit / 1e6:.1f} MB a Dask worker may "
        "send back (APFLOW_DASK_MAX_RESULT_MB); store large data elsewhere (a file, an "
        "object store) and return where it is",
        "result_too_large",
        retryable=False,
    )


async def _attempt(attempt: ShippedAttempt, watch: _TreeWatch | None, limit: int) -> dict[str, Any]:
    started = time.monotonic()
    job = asyncio.ensure_future(attempt.execute())
    if watch is not None:
        watch.tasks.add(job)
        if watch.cancelled:
            job.cancel()
    try:
        outcome = await job
    except asyncio.CancelledError:
        if not job.cancelled() or watch is None or not watch.cancelled:
            raise  # the batch itself was cancelled, not the tree
        outcome = cancelled("cancelled by request")
    finally:
        if watch is not None:
            watch.tasks.discard(job)
    outcome["seconds"] = time.monotonic() - started
    if outcome["status"] == "completed" and limit > 0:
        size = _result_size(outcome)
        if size > limit:
            outcome = {**too_large(size, limit), "seconds": outcome["seconds"]}
    return outcome


class Shipment:
    """A batch as it travels: the attempts pickled by apflow, not by Dask.

    Why: Dask unpickles a task's arguments in the worker's connection handler, where an
    executor module missing on the worker breaks the connection and the task is retried
    forever. Unpickled inside :func:`run_batch`, it is one clear failed outcome instead.
    """

    __slots__ = ("key", "labels", "payload")

    def __init__(self, attempts: list[ShippedAttempt], key: str) -> None:
        import cloudpickle

        self.key = key
        self.labels = [(a.executor_id, a.executor.__module__) for a in attempts]
        self.payload = cloudpickle.dumps(attempts)

    def __len__(self) -> int:
        return len(self.labels)

    def unpack(self) -> list[ShippedAttempt] | list[dict[str, Any]]:
        """The attempts, or one failed outcome per attempt when they cannot be loaded here."""
        try:
            return pickle.loads(self.payload)
        except Exception as exc:
            return [
                failed(
                    f"a Dask worker could not load executor {executor_id!r} from module "
                    f"{module!r} ({type(exc).__name__}: {exc}); install it on every worker "
                    "(docs/distributed.md)",
                    "executor_not_on_worker",
                    retryable=False,
                )
                for executor_id, module in self.labels
            ]


async def run_batch(
    shipment: Shipment,
    *,
    tree_token: str,
    expected_versions: dict[str, str],
    max_result_bytes: int,
) -> list[dict[str, Any]]:
    """Run a group of attempts of one tree concurrently; one outcome per attempt, in order.

    Never raises for an executor's failure. Each outcome carries ``seconds`` (time on
    this worker).
    """
    from distributed import get_client, get_worker

    problem = version_mismatch(expected_versions, VERSIONS, f"Dask worker {get_worker().address}")
    if problem is not None:
        message = problem + "; install the same versions on every machine"
        return [failed(message, "version_mismatch", retryable=False) for _ in range(len(shipment))]
    attempts = shipment.unpack()
    if attempts and isinstance(attempts[0], dict):
        return attempts  # type: ignore[return-value]
    client = get_client()
    watch = _watch_tree(f"apflow-cancel-{tree_token}", client)
    try:
        outcomes = list(
            await asyncio.gather(*(_attempt(a, watch, max_result_bytes) for a in attempts))
        )
    finally:
        watch.batches -= 1
    return outcomes


async def run_executor(
    executor_id: str,
    inputs: dict[str, Any],
    timeout: float,
    *,
    executor: type[BaseTask] | None = None,
    task: TaskSnapshot | None = None,
) -> dict[str, Any]:
    """Run one executor once on this worker: ``client.submit(run_executor, "echo", {...}, 30)``.

    The executor is ``executor`` when given (a class; pickled by reference when it lives
    in an importable module), else the one registered under ``executor_id`` here.
    Returns the normalised outcome, as the engine would record it.
    """
    cls = executor or default_registry.get_class(executor_id)
    return await ShippedAttempt(cls, executor_id, inputs, timeout, task).execute()


def dask_setup(worker: Any) -> None:
    """``--preload`` hook: import entry-point executors now, not on the first task."""
    import logging

    ids = default_registry.ids()
    # Dask's own worker logger: its output is what a worker prints, in dask's format.
    logging.getLogger("distributed.worker").info(
        "apflow %s: %d executors loaded (%s)", VERSIONS["apflow"], len(ids), ", ".join(ids)
    )
