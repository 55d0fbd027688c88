"""User-caused errors: one line saying what is wrong, a hint saying what to do, exit 1."""

import json
import sys

from tests.cli.conftest import OFFLINE_TREE


def test_unreachable_database_is_one_line_with_a_hint(runner, tmp_path, monkeypatch):
    import importlib.util

    from apflow.cli.app import app

    not_a_dir = tmp_path / "plain-file"
    not_a_dir.write_text("x")
    result = runner.invoke(app, ["--db", str(not_a_dir / "apflow.db"), "tasks", "list"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "hint: use a file in a directory you can write to" in result.stderr
    if importlib.util.find_spec("asyncpg") is not None:  # the postgres extra (make test has it)
        refused = runner.invoke(app, ["--db", "postgresql://u:p@127.0.0.1:1/db", "tasks", "list"])
        assert refused.exit_code == 1
        assert refused.stderr.startswith("error: ") and "Connect call failed" in refused.stderr
        assert "hint: check that the service is running" in refused.stderr
        assert "Traceback" not in refused.output
    # Without the extra installed (here: made unimportable), the hint names it.
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    missing_driver = runner.invoke(
        app, ["--db", "postgresql://u:p@127.0.0.1:2/db", "tasks", "list"]
    )
    assert missing_driver.exit_code == 1
    assert "cannot use database URL" in missing_driver.stderr
    assert "apflow[postgres]" in missing_driver.stderr  # rich markup must not eat the extra
    assert "Traceback" not in missing_driver.output


def test_unknown_executor_in_a_tree_file_is_refused_before_storing(cli, tmp_path):
    tree = json.loads(json.dumps(OFFLINE_TREE))
    tree[2]["schemas"]["method"] = "Transform-Executor"
    path = tmp_path / "t.json"
    path.write_text(json.dumps(tree))
    result = cli("run", str(path), "--json")
    assert result.exit_code == 1
    issues = json.loads(result.stdout)["issues"]
    assert [i["code"] for i in issues] == ["unknown_executor"]
    assert "transform_executor" in issues[0]["hint"]


def test_directory_instead_of_file_is_one_line(cli, tmp_path):
    result = cli("run", str(tmp_path))
    assert result.exit_code == 1
    assert "is a directory" in result.stderr


def test_verbose_shows_the_traceback(runner, tmp_path):
    from apflow.cli.app import app

    result = runner.invoke(app, ["-v", "show", "no-such-root", "--format", "text"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "TaskNotFound" in result.stderr
