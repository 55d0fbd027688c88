"""Reaching a Dask cluster: the optional import, addresses, local clusters, version checks.

Kept apart from the runner so connecting (and every way it can go wrong, each one error
line with a hint) reads in one place.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

from apflow.core.errors import ConfigError
from apflow.core.runners.dask_worker import version_mismatch, worker_versions

DASK_EXTRA_HINT = "pip install 'apflow[dask]'"
#: Imported by every worker apflow starts (and by ``apflow worker``).
WORKER_PRELOAD = "apflow.core.runners.dask_worker"


def import_distributed() -> Any:
    """``distributed``, or a one-line ConfigError naming the extra that provides it."""
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            f"running tasks on a Dask cluster needs the dask extra: {DASK_EXTRA_HINT}"
        ) from None
    return distributed


def parse_local(address: str) -> int | None:
    """``local`` -> one worker per core, ``local:N`` -> N workers, anything else -> None."""
    if address == "local":
        return max(1, os.cpu_count() or 1)
    if not address.startswith("local:"):
        return None
    count = address.removeprefix("local:")
    if not count.isdigit() or int(count) < 1:
        raise ConfigError(
            f"cluster {address!r}: local:N needs a worker count >= 1",
            hint="for example --cluster local:2",
        )
    return int(count)


@dataclass
class Connection:
    """An asynchronous client, and what apflow opened to get it (closed by :meth:`close`)."""

    client: Any
    owns_client: bool
    cluster: Any = None  # a LocalCluster apflow started for ``local:N``

    async def close(self) -> None:
        if self.owns_client:
            await self.client.close()
        if self.cluster is not None:
            cluster, self.cluster = self.cluster, None
            await cluster.close()


async def connect(address: Any, *, connect_timeout: float, threads_per_worker: int) -> Connection:
    """An asynchronous client for an address, ``local:N`` or a ``distributed.Client``."""
    distributed = import_distributed()
    if not isinstance(address, str):
        if not isinstance(address, distributed.Client):
            raise ConfigError(
                f"DaskRunner needs an address or a distributed.Client, got {address!r}"
            )
        if address.asynchronous:
            return Connection(address, owns_client=False)
        address = address.scheduler.address  # a blocking client: open our own async one
    workers = parse_local(address)
    if workers is not None:
        with warnings.catch_warnings():  # its health endpoint moving off a busy port 8787
            warnings.filterwarnings("ignore", message="Port .* is already in use")
            cluster = await distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=threads_per_worker,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                asynchronous=True,
                preload=[WORKER_PRELOAD],
            )
        try:
            client = await distributed.Client(cluster, asynchronous=True)
        except BaseException:
            await cluster.close()
            raise
        return Connection(client, owns_client=True, cluster=cluster)
    try:
        client = await distributed.Client(address, asynchronous=True, timeout=connect_timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(
            f"cannot connect to the Dask scheduler at {address!r}: {exc}",
            hint=f"start one with `dask scheduler`, then workers with `apflow worker {address}`",
        ) from None
    return Connection(client, owns_client=True)


async def check_cluster(
    client: Any, versions: dict[str, str], connect_timeout: float
) -> dict[str, int]:
    """Refuse a cluster without workers or with other versions; its workers' task slots.

    Every problem is named in one error: each machine and both versions.
    """
    where = client.scheduler.address
    try:
        await client.wait_for_workers(1, timeout=connect_timeout)
    except TimeoutError:
        raise ConfigError(
            f"the Dask scheduler at {where} has no workers after {connect_timeout:g}s",
            hint=f"start some with `apflow worker {where}`",
        ) from None
    identity = await client.scheduler.identity(n_workers=-1)
    slots = {
        address: worker.get("nthreads", 0)
        for address, worker in (identity.get("workers") or {}).items()
    }
    problems = []
    info = await client.get_versions(check=False)
    scheduler = (info.get("scheduler") or {}).get("packages") or {}
    wanted = {k: v for k, v in versions.items() if k in ("dask", "distributed")}
    seen = {k: scheduler.get(k) or "not installed" for k in wanted}
    problem = version_mismatch(wanted, seen, f"the Dask scheduler at {where}")
    if problem:
        problems.append(problem)
    for worker, found in (await client.run(worker_versions, on_error="return")).items():
        if isinstance(found, BaseException):
            problems.append(f"Dask worker {worker} cannot import apflow ({found})")
            continue
        problem = version_mismatch(versions, found, f"Dask worker {worker}")
        if problem:
            problems.append(problem)
    if problems:
        raise ConfigError(
            "; ".join(problems),
            hint="install the same apflow, dask, distributed and Python versions on "
            "every machine (docs/distributed.md)",
        )
    return slots
