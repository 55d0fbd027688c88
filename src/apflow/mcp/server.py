"""The apflow MCP server: tools an agent calls to build, check and run task trees.

Every anticipated failure (an invalid tree, an unknown id, no model configured) reaches the
model as a ToolError whose text carries the validator's hints, so it can correct itself;
anything else is a crash the SDK reports without leaking a stack trace.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from pydantic import Field, WithJsonSchema

from apflow import __version__
from apflow.core.errors import ApflowError, GenerationError, ValidationFailed
from apflow.generator.result import GenerationMode
from apflow.mcp.generate import generate
from apflow.service import (
    CancelResult,
    ExecutorList,
    GenerateView,
    Service,
    TreeView,
    ValidationView,
)

T = TypeVar("T")
#: Both spellings of the two modes offered to agents (single_shot and single-shot, ...).
ModeName = Literal[
    tuple(GenerationMode.spellings(GenerationMode.SINGLE_SHOT, GenerationMode.MULTI_PHASE))
]

INSTRUCTIONS = (
    "apflow turns a plain-English workflow into a validated task tree and runs it. "
    "Call list_executors to see what tasks can do, generate_task_tree to build a tree from a "
    "requirement (or write one yourself and check it with validate_task_tree), then "
    "run_task_tree. Trees are flat lists of tasks; the root is aggregate_results_executor and "
    "depends on the other top-level tasks."
)


def _task_items_schema() -> dict[str, Any]:
    """The task JSON Schema with its $defs inlined, so it can sit inside a tool's input schema."""
    from apflow.spec.models import TaskSpec

    schema = TaskSpec.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.split("/")[-1]])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(schema)


TasksArg = Annotated[
    list[dict[str, Any]],
    Field(description="the task tree: a flat list of task objects"),
    WithJsonSchema(
        {
            "type": "array",
            "description": "the task tree: a flat list of task objects",
            "items": _task_items_schema(),
        }
    ),
]


def error_text(exc: ApflowError) -> str:
    """What the model reads: the message, every validation issue with its hint, the fix."""
    if isinstance(exc, ValidationFailed):
        lines = [issue.line() for issue in getattr(exc.report, "issues", [])]
        return "the task tree is invalid; nothing was stored or run:\n" + "\n".join(lines)
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    text = f"{message} (hint: {exc.hint})" if exc.hint else message
    remaining = getattr(exc, "issues", None) if isinstance(exc, GenerationError) else None
    if remaining:
        text += "\nissues left in the last tree:\n" + "\n".join(
            i.line() if hasattr(i, "line") else str(i) for i in remaining[:10]
        )
    return text


def caller(ctx: Context) -> str | None:
    """The user id of the request's bearer token (set by apflow.mcp.http), or None for the
    local user (stdio, in-memory, HTTP without tokens), who sees every tree."""
    from apflow.mcp.http import USER_SCOPE_KEY

    try:
        request = ctx.request_context.request
    except ValueError:  # no request (called outside the protocol)
        return None
    scope = getattr(request, "scope", None)
    return scope.get(USER_SCOPE_KEY) if isinstance(scope, dict) else None


def tool_errors(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return await fn(*args, **kwargs)
        except ApflowError as exc:
            raise ToolError(error_text(exc)) from exc

    return wrapper


def build_server(
    db: str | None = None, *, model: str | None = None, service: Service | None = None
) -> MCPServer:
    """An MCPServer exposing apflow's tools and resources on database ``db``."""
    svc = service or Service(db, model=model)
    mcp = MCPServer("apflow", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")
    mcp.apflow_service = svc  # type: ignore[attr-defined]  # reached by tests and the CLI

    @mcp.tool()
    @tool_errors
    async def generate_task_tree(
        requirement: Annotated[str, Field(description="the workflow, in plain English")],
        ctx: Context,
        mode: Annotated[
            ModeName,
            Field(description="single_shot: one call; multi_phase: plan, then build"),
        ] = "single_shot",
        executors: Annotated[
            list[str] | None, Field(description="only these executor ids may be used")
        ] = None,
        run: Annotated[bool, Field(description="also store and run the tree")] = False,
    ) -> GenerateView:
        """Generate a validated task tree from a requirement; optionally run it."""
        return await generate(
            svc, ctx, requirement, mode=mode, executors=executors, run=run, user_id=caller(ctx)
        )

    @mcp.tool()
    @tool_errors
    async def validate_task_tree(tasks: TasksArg) -> ValidationView:
        """Check a task tree; every issue comes with a hint saying how to fix it."""
        return svc.validate(tasks)

    @mcp.tool()
    @tool_errors
    async def run_task_tree(
        tasks: TasksArg,
        ctx: Context,
        wait: Annotated[
            bool, Field(description="false: return the root id at once, run in the background")
        ] = True,
    ) -> TreeView:
        """Validate, store and run a task tree; returns the root id, statuses and result."""
        return await svc.run(tasks, wait=wait, user_id=caller(ctx))

    @mcp.tool()
    @tool_errors
    async def get_task_tree(
        root_id: Annotated[str, Field(description="root id returned by run_task_tree")],
        ctx: Context,
    ) -> TreeView:
        """Statuses and results of a stored tree."""
        return await svc.get_tree(root_id, user_id=caller(ctx))

    @mcp.tool()
    @tool_errors
    async def cancel_task_tree(
        root_id: Annotated[str, Field(description="root id of the tree to cancel")],
        ctx: Context,
    ) -> CancelResult:
        """Cancel a tree: running tasks stop, unfinished ones are marked cancelled."""
        return await svc.cancel(root_id, user_id=caller(ctx))

    @mcp.tool()
    @tool_errors
    async def list_executors() -> ExecutorList:
        """Every executor a tree can use: id, description and input schema."""
        return ExecutorList(executors=svc.executors())

    @mcp.resource(
        "apflow://executors/{executor_id}",
        mime_type="application/json",
        description="an executor's description and input schema",
    )
    async def executor_resource(executor_id: str) -> str:
        try:
            return svc.executor(executor_id).model_dump_json(indent=2)
        except ApflowError as exc:
            raise ResourceNotFoundError(error_text(exc)) from exc

    @mcp.resource(
        "apflow://trees/{root_id}",
        mime_type="application/json",
        description="every stored task of a tree, with statuses and results",
    )
    async def tree_resource(root_id: str, ctx: Context) -> str:
        try:
            tasks = [t.to_dict() for t in await svc.load(root_id, user_id=caller(ctx))]
            return json.dumps(tasks, indent=2, default=str)
        except ApflowError as exc:
            raise ResourceNotFoundError(error_text(exc)) from exc

    return mcp
