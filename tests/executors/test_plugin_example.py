"""examples/plugin is discovered through its pyproject entry point, without pip install."""

from __future__ import annotations

import importlib
import sys
import tomllib
from pathlib import Path

import pytest

from apflow import TaskManager, create_session
from apflow.core.registry import ENTRY_POINT_GROUP, ExecutorRegistry

PLUGIN = Path(__file__).resolve().parents[2] / "examples" / "plugin"


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """What `pip install examples/plugin` leaves behind: the package on sys.path and a
    dist-info whose entry_points.txt is generated from the plugin's own pyproject.toml."""
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    dist = tmp_path / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    points = project["entry-points"][ENTRY_POINT_GROUP]
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items())
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(PLUGIN / "src"))
    importlib.invalidate_caches()
    yield
    sys.modules.pop("apflow_example_plugin", None)


def test_plugin_is_not_visible_without_installation():
    assert "word_count_executor" not in ExecutorRegistry(load_plugins=True).ids()


async def test_plugin_executor_is_discovered_and_runs(installed_plugin, db_url):
    registry = ExecutorRegistry(load_plugins=True)
    assert "word_count_executor" in registry.ids()
    described = registry.describe("word_count_executor")
    assert described["input_schema"]["required"] == ["text"]

    session = create_session(db_url)
    manager = TaskManager(session, registry=registry)
    task = await manager.task_repository.create_task(
        name="count",
        schemas={"method": "word_count_executor"},
        inputs={"text": "the cat and the hat\nthe end", "top": 1},
    )
    await manager.run_tree(task.id)
    row = await manager.task_repository.get_task_by_id(task.id)
    assert row.status == "completed", row.error
    assert row.result == {"words": 7, "lines": 2, "characters": 27, "top_words": [["the", 3]]}
    await session.close()
