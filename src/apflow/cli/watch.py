"""Running a tree from the CLI while watching it: store it, run it with a live status table, report.

Shared by ``run``, ``generate --run`` and ``demo``. A Ctrl-C cancels the asyncio task that
runs the tree; the engine then marks every unfinished task cancelled before the
KeyboardInterrupt reaches the command, which prints how to resume and exits 130.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rich.live import Live
from rich.markup import escape

from apflow.cli.common import console, out, print_json, state
from apflow.cli.views import short_json, status_text, task_summary, task_table

if TYPE_CHECKING:
    from apflow.core.models import TaskModel

Display = Literal["live", "lines", "quiet"]


@dataclass
class TreeOutcome:
    """What the command needs afterwards, even when the run was interrupted."""

    root_id: str | None = None
    tasks: dict[str, TaskModel] = field(default_factory=dict)
    final: list[TaskModel] = field(default_factory=list)

    @property
    def root(self) -> TaskModel | None:
        return next((t for t in self.final if t.id == self.root_id), None)


def pick_display(as_json: bool) -> Display:
    """A live table on a terminal; one line per change when piped; nothing for ``--json``."""
    if as_json:
        return "quiet"
    return "live" if console.is_terminal else "lines"


async def run_tree(
    run: TreeOutcome,
    *,
    spec: Any = None,
    root_id: str | None = None,
    max_concurrency: int | None = None,
    display: Display = "live",
    db: str | None = None,
    cluster: str | None = None,
) -> TreeOutcome:
    """Store ``spec`` (or load the stored tree ``root_id``) and run it to the end.

    ``cluster`` (else APFLOW_DASK_ADDRESS) runs the executors on a Dask cluster; it is
    connected to, and its versions checked, before anything is stored.
    """
    from apflow.core.runners import LocalRunner, runner_for

    runner = runner_for(cluster)
    if not isinstance(runner, LocalRunner):
        console.print(f"[dim]connecting to {escape(str(cluster or 'APFLOW_DASK_ADDRESS'))}...[/]")
        await runner.start()
        console.print(f"[dim]executors run on {escape(runner.describe())}[/]", highlight=False)
    try:
        return await _store_and_run(run, spec, root_id, max_concurrency, display, db, runner)
    finally:
        await runner.close()


async def _store_and_run(
    run: TreeOutcome,
    spec: Any,
    root_id: str | None,
    max_concurrency: int | None,
    display: Display,
    db: str | None,
    runner: Any,
) -> TreeOutcome:
    from apflow.service import Service

    live = (
        Live(
            get_renderable=lambda: task_table(list(run.tasks.values())),
            console=console,
            refresh_per_second=4,
        )
        if display == "live"
        else None
    )

    def on_stored(root: str, tasks: list[TaskModel]) -> None:
        run.root_id = root
        for task in tasks:
            run.tasks[task.id] = task
        if live is not None:
            live.start()

    def on_change(task: TaskModel, old: str, new: str) -> None:
        run.tasks.setdefault(task.id, task)
        if display == "lines":
            console.print(
                f"  {escape(task.spec_id):<24} {status_text(old)} -> {status_text(new)}",
                highlight=False,
            )

    if root_id is not None:
        run.root_id = root_id  # Ctrl-C before it loads still says how to resume
    try:
        run.final = await Service(db if db is not None else state.db).store_and_run(
            spec,
            root_id=root_id,
            on_stored=on_stored,
            on_state_change=on_change,
            max_concurrency=max_concurrency,
            runner=runner,
        )
    finally:
        if live is not None:
            live.stop()
    return run


def report(run: TreeOutcome, *, as_json: bool) -> int:
    """Print the root's result (stdout) and return the exit code: 0 when the root completed."""
    root = run.root
    if root is None:  # pragma: no cover - the engine always leaves the root stored
        return 1
    if as_json:
        print_json(
            {
                "root_id": root.id,
                "status": root.status,
                "result": root.result,
                "summary": (root.result_meta or {}).get("summary"),
                "tasks": [task_summary(t) for t in run.final],
            }
        )
    else:
        if not console.is_terminal:
            console.print(task_table(run.final))
        out.print(f"[bold]root[/] {root.id} {status_text(root.status)}")
        if root.result is not None:
            out.print(escape(short_json(root.result, limit=20000)))
        if root.error:
            out.print(f"[red]{escape(root.error)}[/]")
    return 0 if root.status == "completed" else 1


def interrupted(run: TreeOutcome) -> None:
    """After Ctrl-C: say what happened and how to resume."""
    console.print("[yellow]interrupted: unfinished tasks were marked cancelled[/]")
    if run.root_id:
        console.print(f"[dim]resume with: apflow run --task {run.root_id}[/]")
