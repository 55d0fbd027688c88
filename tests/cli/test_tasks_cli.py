import json

from tests.cli.conftest import load_tree, store_tasks


def _tree(db_url):
    return store_tasks(
        db_url,
        [
            {"name": "report", "schemas": {"method": "aggregate_results_executor"}, "deps": [1]},
            {
                "name": "count",
                "schemas": {"method": "transform_executor"},
                "parent": 0,
                "inputs": {"data": [1, 2], "operations": [{"op": "length"}]},
                "user_id": "ada",
            },
        ],
    )


def test_tasks_list_shows_only_roots_by_default_and_all_with_flag(cli, db_url):
    root, child = _tree(db_url)
    result = cli("tasks", "list", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == [root.id]
    assert rows[0]["status"] == "pending"
    everything = json.loads(cli("tasks", "list", "--all", "--json").stdout)
    assert {r["id"] for r in everything} == {root.id, child.id}


def test_tasks_list_filters_by_user_and_status(cli, db_url):
    root, child = _tree(db_url)
    by_user = json.loads(cli("tasks", "list", "--all", "--user", "ada", "--json").stdout)
    assert [r["id"] for r in by_user] == [child.id]
    assert json.loads(cli("tasks", "list", "--status", "completed", "--json").stdout) == []
    human = cli("tasks", "list")
    assert root.id in human.stdout and "pending" in human.stdout


def test_tasks_list_rejects_an_unknown_status_as_usage_error(cli):
    result = cli("tasks", "list", "--status", "done")
    assert result.exit_code == 2
    assert "unknown status" in result.stderr


def test_tasks_show_prints_inputs_and_children(cli, db_url):
    root, child = _tree(db_url)
    shown = cli("tasks", "show", child.id)
    assert shown.exit_code == 0
    assert "transform_executor" in shown.stdout and '"length"' in shown.stdout
    data = json.loads(cli("tasks", "show", root.id, "--json").stdout)
    assert data["children"] == [child.id]
    assert data["schemas"] == {"method": "aggregate_results_executor"}


def test_tasks_show_unknown_id_is_one_line_error(cli):
    result = cli("tasks", "show", "no-such-task")
    assert result.exit_code == 1
    assert "no task with id 'no-such-task'" in result.stderr
    assert "Traceback" not in result.output


def test_tasks_cancel_marks_unfinished_tasks_cancelled(cli, db_url):
    root, child = _tree(db_url)
    result = cli("tasks", "cancel", root.id, "--json")
    assert json.loads(result.stdout) == {"root_id": root.id, "cancelled": 2}
    assert {t.status for t in load_tree(db_url, root.id)} == {"cancelled"}
    again = cli("tasks", "cancel", root.id)
    assert "nothing to cancel" in again.stdout


def test_bad_usage_exits_two_and_version_prints(cli, runner):
    from apflow.cli.app import app

    assert cli("run", "--max-concurrency", "zero").exit_code == 2
    assert cli("no-such-command").exit_code == 2
    assert runner.invoke(app, ["--version"]).stdout.startswith("apflow ")
