"""The console's view of :class:`apflow.service.Service`: the same calls, shaped for HTTP.

Everything the console reads or changes goes through the service, as for the CLI and the
MCP server; this adds only what a web page needs on top: reads that finish even when the
browser leaves, and a resume that refuses to start a second runner.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from apflow.core.errors import ApflowError
from apflow.core.models import TaskModel
from apflow.core.states import TaskStatus
from apflow.service import Service
from apflow.service.views import TreePage

T = TypeVar("T")


def whole(read: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Run a database read in a task of its own, so that it always finishes.

    Why: a browser that leaves mid-request cancels the handler; a query cancelled halfway
    makes SQLAlchemy drop its connection uncleanly. The read completes (milliseconds) and
    closes its session; only the wait for it is abandoned.
    """

    @functools.wraps(read)
    async def run_whole(*args: Any, **kwargs: Any) -> T:
        return await asyncio.shield(asyncio.ensure_future(read(*args, **kwargs)))

    return run_whole


class Conflict(ApflowError):
    """The request does not fit the tree's current state (already running, finished...)."""


class Backend:
    """One per console: a :class:`Service` and the trees it runs in this process."""

    def __init__(self, service: Service | None = None) -> None:
        self.service = service or Service()

    @property
    def model(self) -> str | None:
        return self.service.model

    @whole
    async def list_trees(self, **filters: Any) -> TreePage:
        return await self.service.list_trees(**filters)

    @whole
    async def tree(self, root_id: str) -> list[TaskModel]:
        return await self.service.load(root_id)

    @whole
    async def task(self, task_id: str) -> TaskModel:
        return (await self.service.get_task(task_id))[0]

    def is_running(self, root_id: str) -> bool:
        return self.service.is_running(root_id)

    async def start(self, tasks: Any, *, user_id: str | None = None) -> str:
        """Validate and store a tree, start it in this process; its root id."""
        return (await self.service.run(tasks, wait=False, user_id=user_id)).root_id

    async def resume(self, root_id: str, *, force: bool = False) -> None:
        """Run the tree's unfinished tasks again here; completed results are kept.

        Refused while the tree runs here, once it completed, and, unless ``force``, while
        any task is in progress elsewhere (another process may be running it).
        """
        if self.is_running(root_id):
            raise Conflict(f"tree {root_id} is already running")
        tasks = await self.tree(root_id)
        if tasks[0].status == TaskStatus.COMPLETED:
            raise Conflict(f"tree {root_id} has completed; there is nothing to resume")
        busy = sum(t.status == TaskStatus.IN_PROGRESS for t in tasks)
        if busy and not force:
            raise Conflict(
                f"{busy} task(s) of tree {root_id} are in progress, but not in this "
                "console: another process may be running the tree",
                hint="resume only if no other process runs it (the run was interrupted); "
                'then send {"force": true}',
            )
        await self.service.resume(root_id, wait=False)

    async def cancel(self, root_id: str) -> int:
        return (await self.service.cancel(root_id)).cancelled

    def validate(self, tasks: Any) -> Any:
        return self.service.validate(tasks)

    def executors(self) -> list[Any]:
        return self.service.executors()

    async def generate(self, requirement: str, **options: Any) -> Any:
        return await self.service.generate(requirement, **options)

    async def wait(self, root_id: str) -> None:
        await self.service.wait(root_id)

    async def close(self) -> None:
        await self.service.close()
