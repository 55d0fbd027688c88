"""CLI test helpers: invoke the app in-process or as ``python -m apflow``, store trees."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from apflow.cli.app import app

REPO = Path(__file__).resolve().parents[2]

#: A small valid tree using only offline executors.
OFFLINE_TREE = [
    {
        "id": "report",
        "schemas": {"method": "aggregate_results_executor"},
        "dependencies": ["numbers", "greeting"],
    },
    {
        "id": "numbers",
        "parent_id": "report",
        "schemas": {"method": "transform_executor"},
        "inputs": {"data": [3, 1, 2], "operations": [{"op": "length"}]},
    },
    {
        "id": "greeting",
        "parent_id": "report",
        "schemas": {"method": "transform_executor"},
        "inputs": {
            "data": {"name": "Ada"},
            "operations": [{"op": "template", "template": "hello {name}"}],
        },
    },
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner, db_url):
    """``cli("tasks", "list")`` runs the app in-process against this test's database."""

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, ["--db", db_url, *args], input=input, catch_exceptions=False)

    return invoke


def run_module(*args: str, env: dict[str, str] | None = None, timeout: float = 60, **kw: Any):
    """``python -m apflow ARGS`` as a real subprocess."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "apflow", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=kw.pop("cwd", None),
        **kw,
    )


@pytest.fixture
def tree_file(tmp_path) -> Path:
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(OFFLINE_TREE))
    return path


def store_tasks(db_url: str, rows: list[dict[str, Any]]) -> list[Any]:
    """Store rows (TaskRepository.create_task kwargs, ``deps`` as row indexes) in one go."""
    from apflow.core import TaskRepository, create_session
    from apflow.core.database import dispose_engines

    ids = [str(uuid.uuid4()) for _ in rows]

    async def go():
        session = create_session(db_url)
        repo = TaskRepository(session)
        created: list[Any] = []
        for task_id, row in zip(ids, rows, strict=True):
            row = dict(row)
            parent = row.pop("parent", None)
            deps = row.pop("deps", [])
            created.append(
                await repo.create_task(
                    id=task_id,
                    parent_id=ids[parent] if parent is not None else None,
                    dependencies=[ids[i] for i in deps],
                    **row,
                )
            )
        await session.close()
        await dispose_engines()
        return created

    return asyncio.run(go())


def load_tree(db_url: str, root_id: str) -> list[Any]:
    from apflow.core import TaskRepository, create_session
    from apflow.core.database import dispose_engines

    async def go():
        session = create_session(db_url)
        tasks = await TaskRepository(session).get_tree(root_id)
        await session.close()
        await dispose_engines()
        return tasks

    return asyncio.run(go())
