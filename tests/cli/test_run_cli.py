import asyncio
import json

from apflow.core import TaskRepository, create_session
from apflow.core.database import dispose_engines
from tests.cli.conftest import OFFLINE_TREE, load_tree, store_tasks


def _stored_roots(db_url):
    """Every stored task (roots and children)."""

    async def go():
        session = create_session(db_url)
        rows = await TaskRepository(session).list_tasks(limit=1000)
        await session.close()
        await dispose_engines()
        return rows

    return asyncio.run(go())


def test_run_file_stores_runs_and_prints_the_root_result(cli, tree_file, db_url):
    result = cli("run", str(tree_file))
    assert result.exit_code == 0, result.output
    assert '"greeting": "hello Ada"' in result.stdout
    assert '"numbers": 3' in result.stdout
    tasks = _stored_roots(db_url)
    assert len(tasks) == 3 and {t.status for t in tasks} == {"completed"}


def test_run_json_reports_root_id_statuses_and_result(cli, tree_file, db_url):
    result = cli("run", str(tree_file), "--json", "--max-concurrency", "1")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["status"] == "completed"
    assert data["result"] == {"numbers": 3, "greeting": "hello Ada"}
    assert data["summary"]["completed"] == 2
    assert {t["spec_id"]: t["status"] for t in data["tasks"]} == {
        "report": "completed",
        "numbers": "completed",
        "greeting": "completed",
    }
    assert [t.id for t in load_tree(db_url, data["root_id"])][0] == data["root_id"]


def test_invalid_tree_is_refused_with_issues_and_nothing_is_stored(cli, tmp_path, db_url):
    tree = json.loads(json.dumps(OFFLINE_TREE))
    tree[0]["dependencies"].append("missing")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(tree))
    result = cli("run", str(path))
    assert result.exit_code == 1
    assert "missing_dependency" in result.stderr
    assert "nothing was stored" in result.stderr
    assert _stored_roots(db_url) == []


def test_failed_task_makes_a_non_zero_exit_and_shows_the_error(cli, tmp_path):
    tree = json.loads(json.dumps(OFFLINE_TREE))
    tree[1]["inputs"] = {"data": {"a": 1}, "operations": [{"op": "pluck", "path": "x"}]}
    path = tmp_path / "fails.json"
    path.write_text(json.dumps(tree))
    result = cli("run", str(path), "--json")
    data = json.loads(result.stdout)
    numbers = next(t for t in data["tasks"] if t["spec_id"] == "numbers")
    assert numbers["status"] == "failed" and numbers["error"]
    assert data["status"] == "failed"  # the aggregator root: a required child failed
    assert result.exit_code == 1


def test_run_task_resumes_a_stored_tree_keeping_completed_results(cli, db_url):
    root, done, todo = store_tasks(
        db_url,
        [
            {"name": "report", "schemas": {"method": "aggregate_results_executor"}, "deps": [1, 2]},
            {"name": "done", "schemas": {"method": "transform_executor"}, "parent": 0},
            {
                "name": "todo",
                "schemas": {"method": "transform_executor"},
                "parent": 0,
                "inputs": {"data": [1, 2, 3, 4], "operations": [{"op": "length"}]},
            },
        ],
    )

    async def finish_one():
        session = create_session(db_url)
        repo = TaskRepository(session)
        await repo.update_task(done.id, status="in_progress")
        await repo.update_task(done.id, status="completed", result={"kept": True})
        await session.close()
        await dispose_engines()

    asyncio.run(finish_one())
    result = cli("run", "--task", root.id, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["result"] == {done.id: {"kept": True}, todo.id: 4}


def test_run_needs_exactly_one_of_file_or_task(cli, tree_file):
    assert cli("run").exit_code == 2
    assert cli("run", str(tree_file), "--task", "x").exit_code == 2


def test_run_task_unknown_root_is_one_line_error(cli):
    result = cli("run", "--task", "nope")
    assert result.exit_code == 1
    assert "no task with id 'nope'" in result.stderr
