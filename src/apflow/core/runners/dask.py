"""DaskRunner: ready tasks' executors run on a Dask distributed cluster.

The engine still schedules, retries, cancels and writes every state; this runner only
ships one attempt of each ready task to the cluster and brings its outcome back.

Throughput: the attempts the engine starts in one scheduling round are submitted
together (one ``client.map`` per tree and priority). Attempts of an executor that
recently finished in under ``chunk_below`` seconds are grouped into chunks that run
concurrently on one worker and come back together, so a tree of tiny tasks is not
limited by Dask's per-task overhead. Everything else is one Dask task per attempt, so a
slow task never holds back a fast one, except when a round starts more attempts than
the cluster has slots: those would queue in Dask anyway, so they go in as many groups as
there are slots. Nothing here needs the database.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from apflow.core.results import failed
from apflow.core.runners.base import Attempt, ExecutorRunner, TaskSnapshot
from apflow.core.runners.dask_cluster import (
    Connection,
    check_cluster,
    connect,
    parse_local,
)
from apflow.core.runners.dask_worker import Shipment, ShippedAttempt, local_versions, run_batch
from apflow.core.settings import settings
from apflow.core.utils.logger import get_logger

logger = get_logger(__name__)


@dataclass
class _Entry:
    attempt: Attempt
    future: asyncio.Future[dict[str, Any]]
    batch: _Batch | None = None


@dataclass
class _Batch:
    key: str
    entries: list[_Entry]
    tree: _Tree
    dask_future: Any = None
    losses_seen: int = 0  # workers lost before it was submitted


@dataclass
class _Tree:
    token: str
    batches: set[str] = field(default_factory=set)
    cancelled: bool = False


class DaskRunner(ExecutorRunner):
    """Runs executors on a Dask cluster.

    ``address``: ``"tcp://host:8786"``, ``"local:N"`` (a local cluster of N worker
    processes, started and stopped by this runner), a ``distributed.Client``, or None
    for ``APFLOW_DASK_ADDRESS`` (``local``, one worker per core, when that is unset).
    """

    def __init__(
        self,
        address: str | Any | None = None,
        *,
        chunk_below: float = 0.05,
        chunk_size: int = 64,
        linger: float = 0.005,
        max_result_mb: int | None = None,
        timeout_grace: float = 60.0,
        connect_timeout: float = 30.0,
        threads_per_worker: int = 50,
    ) -> None:
        if address is None:
            address = settings().dask_address or "local"
        if isinstance(address, str):
            parse_local(address)  # a bad local:N fails here, not at the first run
        self.address = address
        self.chunk_below = chunk_below
        self.chunk_size = max(1, chunk_size)
        self.linger = linger
        self.max_result_bytes = (
            settings().dask_max_result_mb if max_result_mb is None else max_result_mb
        ) << 20
        self.backstop_grace = timeout_grace
        self.connect_timeout = connect_timeout
        self.threads_per_worker = threads_per_worker
        self.client: Any = None
        self._connection: Connection | None = None
        self._start_lock: asyncio.Lock | None = None
        self._versions = local_versions()
        self._pending: list[_Entry] = []
        self._flush_handle: asyncio.Handle | None = None
        self._batches: dict[str, _Batch] = {}
        self._trees: dict[str, _Tree] = {}
        self._durations: dict[str, deque[float]] = {}
        self._short: set[str] = set()  # executors whose attempts go in chunks
        self._waiters: set[asyncio.Task[None]] = set()
        self._seq = itertools.count()
        self._workers_at_connect: dict[str, int] = {}
        self._losses = 0

    def __repr__(self) -> str:
        where = self.address if isinstance(self.address, str) else "a distributed.Client"
        return f"DaskRunner({where!r})"

    def slots(self) -> int | None:
        """The cluster's task slots (threads) when it was connected to."""
        return sum(self._workers_at_connect.values()) or None

    def describe(self) -> str:
        if self.client is None:
            return f"a Dask cluster ({self!r}, not connected)"
        workers = self._workers_at_connect
        local = self._connection is not None and self._connection.cluster is not None
        kind = "local Dask cluster" if local else "Dask cluster"
        return (
            f"the {kind} at {self.scheduler_address} "
            f"({len(workers)} workers, {sum(workers.values())} slots when connected)"
        )

    @property
    def scheduler_address(self) -> str | None:
        return self.client.scheduler.address if self.client is not None else None

    # -- connecting -----------------------------------------------------------------------

    async def start(self) -> None:
        if self.client is not None:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self.client is not None:
                return
            connection = await connect(
                self.address,
                connect_timeout=self.connect_timeout,
                threads_per_worker=self.threads_per_worker,
            )
            try:
                self._workers_at_connect = await check_cluster(
                    connection.client, self._versions, self.connect_timeout
                )
            except BaseException:
                await connection.close()
                raise
            self._connection = connection
            connection.client.subscribe_topic("all", self._on_cluster_event)
            self.client = connection.client

    def _on_cluster_event(self, event: Any) -> None:
        """Count workers that left; a batch that was in flight then may have run twice."""
        message = event[1] if isinstance(event, tuple) and len(event) == 2 else None
        if isinstance(message, dict) and message.get("action") == "remove-worker":
            self._losses += 1

    async def close(self) -> None:
        for entry in self._pending:
            entry.future.cancel()
        self._pending.clear()
        for waiter in list(self._waiters):
            waiter.cancel()
        if self._waiters:
            await asyncio.gather(*self._waiters, return_exceptions=True)
        connection, self._connection = self._connection, None
        self.client = None
        if connection is not None:
            # Unsubscribed first: otherwise the scheduler tries to tell this client that
            # it left, on the connection that just closed, and logs a CRITICAL traceback.
            connection.client.unsubscribe_topic("all")
            await connection.close()

    # -- running --------------------------------------------------------------------------

    async def run(self, attempt: Attempt) -> dict[str, Any]:
        if self.client is None:
            await self.start()
        loop = asyncio.get_running_loop()
        entry = _Entry(attempt, loop.create_future())
        self._pending.append(entry)
        if self._flush_handle is None:
            if attempt.executor_id in self._short:
                # Tiny tasks finish one by one and are replaced one by one; waiting a few
                # ms gathers those replacements into one chunk instead of one Dask task each.
                self._flush_handle = loop.call_later(self.linger, self._flush)
            else:
                self._flush_handle = loop.call_soon(self._flush)
        try:
            return await entry.future
        except asyncio.CancelledError:
            self._abandon(entry)
            raise

    def _abandon(self, entry: _Entry) -> None:
        """The engine stopped waiting: drop the attempt if nothing else shares its Dask task."""
        batch = entry.batch
        if batch is None or batch.dask_future is None:
            return  # not submitted yet: the flush skips it
        if all(e.future.done() for e in batch.entries):
            self._waiters.add(asyncio.ensure_future(self.client.cancel([batch.dask_future])))

    def _flush(self) -> None:
        """Submit every attempt queued since the last flush: one ``map`` per tree and priority."""
        self._flush_handle = None
        pending, self._pending = self._pending, []
        groups: dict[tuple[str, int, bool], list[_Entry]] = {}
        for entry in pending:
            if entry.future.done():
                continue
            attempt = entry.attempt
            short = attempt.executor_id in self._short
            groups.setdefault((attempt.tree_id, attempt.priority, short), []).append(entry)
        # The client's view of the workers is refreshed every few seconds and may be empty
        # just after connecting; then what the scheduler said at connect time stands in.
        seen = self.client.scheduler_info(n_workers=-1).get("workers") or {}
        workers = {a: w.get("nthreads", 0) for a, w in seen.items()} or self._workers_at_connect
        worker_count = max(1, len(workers))
        slots = max(1, sum(workers.values()))
        for (tree_id, priority, short), entries in groups.items():
            tree = self._trees.get(tree_id)
            if tree is None:
                tree = self._trees[tree_id] = _Tree(f"{tree_id}-{uuid.uuid4().hex[:8]}")
            many = len(entries)
            if short:  # tiny tasks: few big chunks, at least one per worker
                count = max(math.ceil(many / self.chunk_size), min(many, worker_count))
            elif executor_known(entries, self._durations) or many <= 4 * worker_count:
                count = min(many, slots)  # one Dask task each, at most one per slot
            else:  # a big first round of an executor not timed yet: 4 groups per worker
                count = min(slots, max(4 * worker_count, math.ceil(many / self.chunk_size)))
            size = math.ceil(len(entries) / count)
            chunks = [entries[i : i + size] for i in range(0, len(entries), size)]
            self._submit(tree, priority, chunks)

    def _submit(self, tree: _Tree, priority: int, chunks: list[list[_Entry]]) -> None:
        batches = []
        for chunk in chunks:
            first = chunk[0].attempt
            extra = f"+{len(chunk) - 1}" if len(chunk) > 1 else ""
            key = f"apflow-{first.task_id}-{first.number}{extra}-{tree.token[-8:]}"
            if key in self._batches:
                key = f"{key}-{next(self._seq)}"
            batch = _Batch(key, chunk, tree, losses_seen=self._losses)
            for entry in chunk:
                entry.batch = batch
            batches.append(batch)
        shipments = []
        for batch in list(batches):
            try:
                shipments.append(
                    Shipment([_shippable(e.attempt) for e in batch.entries], batch.key)
                )
            except Exception as exc:  # an executor class that cannot be pickled at all
                batches.remove(batch)
                for entry in batch.entries:
                    entry.future.set_result(_unshippable(exc, entry.attempt))
        if not batches:
            return
        futures = self.client.map(
            run_batch,
            shipments,
            key=[b.key for b in batches],
            priority=-priority,  # apflow: 0 is most urgent; Dask: higher runs first
            pure=False,
            tree_token=tree.token,
            expected_versions=self._versions,
            max_result_bytes=self.max_result_bytes,
        )
        for batch, future in zip(batches, futures, strict=True):
            batch.dask_future = future
            self._batches[batch.key] = batch
            tree.batches.add(batch.key)
            waiter = asyncio.ensure_future(self._await_batch(batch))
            self._waiters.add(waiter)
            waiter.add_done_callback(self._waiters.discard)

    async def _await_batch(self, batch: _Batch) -> None:
        try:
            outcomes = await batch.dask_future
        except asyncio.CancelledError:
            if self.client is None:  # closing
                raise
            outcomes = [_lost(None, e.attempt) for e in batch.entries]
        except Exception as exc:
            outcomes = [_lost(exc, e.attempt) for e in batch.entries]
        else:
            if self._losses != batch.losses_seen:  # a worker left while it was in flight
                lost = await self._runs_lost(batch.key)
                for outcome in outcomes:
                    outcome["lost_runs"] = lost
        finally:
            self._batches.pop(batch.key, None)
            batch.tree.batches.discard(batch.key)
            batch.dask_future = None  # the scheduler may forget the task now
        for entry, outcome in zip(batch.entries, outcomes, strict=True):
            seconds = outcome.pop("seconds", None)
            if seconds is not None:
                self._observe(entry.attempt.executor_id, seconds)
            if not entry.future.done():
                entry.future.set_result(outcome)

    def _observe(self, executor_id: str, seconds: float) -> None:
        """Chunk an executor once its median time is under ``chunk_below``; stop above 10x.

        Why the gap: inside a busy chunk even a no-op measures tens of milliseconds, and
        flipping back to one Dask task per attempt costs ~10x in throughput.
        """
        samples = self._durations.get(executor_id)
        if samples is None:
            samples = self._durations[executor_id] = deque(maxlen=32)
        samples.append(seconds)
        median = statistics.median(samples)
        if median < self.chunk_below:
            self._short.add(executor_id)
        elif median > 10 * self.chunk_below:
            self._short.discard(executor_id)

    async def _runs_lost(self, key: str) -> int:
        """How many workers died while running ``key`` (Dask's ``suspicious`` count)."""
        try:
            return int(await self.client.run_on_scheduler(_suspicious_count(), key) or 0)
        except Exception:
            logger.warning("could not ask the scheduler how often %s was lost", key)
            return 0

    # -- cancellation and clean-up ----------------------------------------------------------

    async def cancel_tree(self, tree_id: str) -> None:
        """Set the tree's cancel flag (running attempts stop) and drop its queued Dask tasks."""
        tree = self._trees.get(tree_id)
        if tree is None or self.client is None or tree.cancelled:
            return
        tree.cancelled = True
        from distributed import Event

        await Event(f"apflow-cancel-{tree.token}", client=self.client).set()
        queued = [self._batches[k].dask_future for k in tree.batches if k in self._batches]
        if queued:
            await self.client.cancel(queued)

    async def tree_finished(self, tree_id: str) -> None:
        """Forget the tree: its watchers on the workers wake up and end."""
        tree = self._trees.pop(tree_id, None)
        if tree is None or self.client is None:
            return
        from distributed import Event

        # Setting wakes every worker's watcher of this tree (nothing of it runs any more,
        # or it was abandoned and should stop); clearing then deletes the flag.
        event = Event(f"apflow-cancel-{tree.token}", client=self.client)
        await event.set()
        await event.clear()


def executor_known(entries: list[_Entry], durations: dict[str, Any]) -> bool:
    """Has every executor in this group been timed on the workers already?"""
    return all(e.attempt.executor_id in durations for e in entries)


def _shippable(attempt: Attempt) -> ShippedAttempt:
    """The attempt as plain data for a worker: the executor's class, a snapshot of the task."""
    context = attempt.executor.context
    task = getattr(context, "task", None)
    if task is not None and not isinstance(task, TaskSnapshot):
        task = TaskSnapshot.of(task)
    return ShippedAttempt(
        executor=type(attempt.executor),
        executor_id=attempt.executor_id,
        inputs=attempt.inputs,
        timeout=attempt.timeout,
        task=task,
        dependencies=list(getattr(context, "dependencies", None) or []),
        database_url=getattr(context, "database_url", None),
    )


def _unshippable(exc: Exception, attempt: Attempt) -> dict[str, Any]:
    return failed(
        f"executor {attempt.executor_id!r} cannot be sent to a Dask worker "
        f"({type(exc).__name__}: {exc}); define it in an importable module",
        "executor_not_shippable",
        retryable=False,
    )


def _lost(exc: BaseException | None, attempt: Attempt) -> dict[str, Any]:
    """The outcome of an attempt whose Dask task failed outside the executor."""
    from distributed import KilledWorker

    if exc is None or isinstance(exc, KilledWorker):
        return failed(
            "the Dask task running this attempt was lost "
            f"({exc or 'cancelled by the cluster'}); workers died or the scheduler restarted",
            "worker_lost",
            retryable=True,
        )
    return failed(f"{type(exc).__name__}: {exc}", type(exc).__name__, retryable=False)


def _suspicious_count() -> Any:
    """A function for ``run_on_scheduler``, made here so it is pickled by value.

    Why: the scheduler then needs neither apflow installed nor the same version of it.
    """

    def suspicious(key: str, dask_scheduler: Any = None) -> int:
        task = dask_scheduler.tasks.get(key)
        return task.suspicious if task is not None else 0

    return suspicious
