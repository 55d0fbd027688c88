"""``apflow worker SCHEDULER``: a Dask worker ready to run apflow tasks.

A thin wrapper over ``dask worker``: the same options, plus a preload that imports
apflow and every entry-point executor before the worker joins, and more task slots by
default (apflow executors are mostly waiting on I/O, on the worker's event loop).
"""

from __future__ import annotations

from typing import Annotated

import typer

from apflow.cli.app import app
from apflow.cli.common import handle_errors


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
@handle_errors
def worker(
    ctx: typer.Context,
    scheduler: Annotated[
        str, typer.Argument(help="The Dask scheduler to join, e.g. tcp://10.0.0.5:8786")
    ],
    nthreads: Annotated[
        int,
        typer.Option(
            "--nthreads", min=1, help="Tasks one worker process runs at once (dask's threads)"
        ),
    ] = 50,
) -> None:
    """Start a Dask worker for apflow: `dask worker` with apflow's executors preloaded.

    Other options go to `dask worker` as they are (see `dask worker --help`).

    Install the same apflow, dask and distributed versions as where `apflow run` runs.
    """
    from apflow.core.runners.dask_cluster import WORKER_PRELOAD, import_distributed

    import_distributed()
    from distributed.cli.dask_worker import main as dask_worker

    args = [scheduler, "--nthreads", str(nthreads), "--preload", WORKER_PRELOAD, *ctx.args]
    dask_worker.main(args=args, prog_name="apflow worker")
