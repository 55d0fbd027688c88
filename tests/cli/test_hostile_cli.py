"""Hostile files on the command line (issue 15): validate and run agree, no traceback, bounded
output."""

from __future__ import annotations

import json

from tests.cli.conftest import OFFLINE_TREE, run_module


def _deep(n: int) -> dict:
    value: dict = {}
    for _ in range(n):
        value = {"a": value}
    return value


def _write(tmp_path, name: str, tree) -> str:
    path = tmp_path / name
    path.write_text(tree if isinstance(tree, str) else json.dumps(tree))
    return str(path)


def _tree(**changes) -> list:
    tree = json.loads(json.dumps(OFFLINE_TREE))
    tree[1].update(changes)
    return tree


def test_what_validate_refuses_run_refuses_the_same_way(cli, tmp_path):
    """Both files of the issue validated, then failed in run; now both commands refuse them."""
    cases = {
        "params.json": (_tree(params={"x": _deep(900)}), "too_deep"),
        "schemas.json": (
            _tree(schemas={"method": "transform_executor", "x": _deep(900)}),
            "too_deep",
        ),
        "surrogate.json": (
            json.dumps(OFFLINE_TREE).replace('"Ada"', '"\\ud800"'),
            "not_json",
        ),
        "deps.json": (_tree(dependencies=[f"d{i}" for i in range(201)]), "too_many_dependencies"),
    }
    for name, (tree, code) in cases.items():
        path = _write(tmp_path, name, tree)
        checked = cli("validate", path, "--json")
        assert checked.exit_code == 1, name
        assert [i["code"] for i in json.loads(checked.stdout)["issues"]] == [code], name
        ran = cli("run", path, "--json")
        assert ran.exit_code == 1, name
        assert [i["code"] for i in json.loads(ran.stdout)["issues"]] == [code], name
        assert cli("tasks", "list", "--json").stdout.strip() in ("[]", ""), "nothing stored"


def test_json_too_deep_or_too_long_for_python_is_one_line_in_run(cli, tmp_path):
    for text in ("[" * 100_000 + "]" * 100_000, "[" + "9" * 5000 + "]"):
        path = _write(tmp_path, "junk.json", text)
        checked = cli("validate", path, "--json")
        assert [i["code"] for i in json.loads(checked.stdout)["issues"]] == ["invalid_json"]
        ran = cli("run", path)
        assert ran.exit_code == 1 and "Traceback" not in ran.stderr
        assert ran.stderr.startswith("error:") and "unexpected" not in ran.stderr


def test_a_file_over_the_size_limit_is_not_parsed(cli, tmp_path):
    path = _write(tmp_path, "huge.json", _tree(schemas={"method": "m" * 2_000_000}))
    result = cli("validate", path, "--json")
    assert result.exit_code == 1
    (issue,) = json.loads(result.stdout)["issues"]
    assert issue["code"] == "document_too_large" and "mmm" not in issue["message"]
    result = cli("validate", path)
    assert len(result.stderr.splitlines()) < 10


def test_many_issues_print_fifty_and_a_count(cli, tmp_path):
    tree = _tree()
    extra = [
        {
            "id": f"t{i}",
            "parent_id": "report",
            "schemas": {"method": "transform_executor"},
            "inputs": {"data": 1},
            "dependencies": [f"ghost{i}"],
        }
        for i in range(60)
    ]
    tree[0]["dependencies"] += [t["id"] for t in extra]
    path = _write(tmp_path, "dangling.json", tree + extra)
    result = cli("validate", path)
    assert result.exit_code == 1
    assert result.stderr.count("missing_dependency task t") == 50
    assert "... and 10 more (missing_dependency x10); --json lists every issue" in result.stderr
    full = json.loads(cli("validate", path, "--json").stdout)
    assert len(full["issues"]) == 60


def test_fix_reports_what_it_cannot_repair_and_repairs_unknown_fields(cli, tmp_path):
    path = _write(tmp_path, "long.json", [{"id": "a", "schemas": {"method": "m" * 256}}])
    result = cli("validate", "--fix", path)
    assert result.exit_code == 1 and "value_too_long" in result.stderr
    assert "Traceback" not in result.stderr and "ValidationError" not in result.stderr
    path = _write(tmp_path, "extra.json", _tree(description="explains the step"))
    result = cli("validate", "--fix", path)
    assert result.exit_code == 0, result.stderr
    assert "removed unknown field(s) description" in result.stderr
    assert "description" not in (tmp_path / "extra.json").read_text()


def test_a_lone_surrogate_id_gives_json_on_a_real_utf8_stdout(tmp_path):
    path = _write(tmp_path, "s.json", '[{"id": "\\ud800", "schemas": {"method": "x"}}]')
    result = run_module("validate", "--json", path, env={"PYTHONIOENCODING": "utf-8"})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (issue,) = json.loads(result.stdout)["issues"]
    assert issue["code"] == "not_json" and issue["path"] == "tasks[0].id"


def test_a_stored_lone_surrogate_prints_instead_of_crashing(tmp_path):
    """A value written through the Python API (or by a plugin executor) may hold a lone
    surrogate; printing it must not fail the command with UnicodeEncodeError."""
    from tests.cli.conftest import store_tasks

    db = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    (task,) = store_tasks(db, [{"name": "odd", "inputs": {"text": "x\ud800y"}}])
    env = {"PYTHONIOENCODING": "utf-8"}
    shown = run_module("--db", db, "tasks", "show", task.id, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["inputs"] == {"text": "x\ud800y"}
    text = run_module("--db", db, "tasks", "show", task.id, env=env)
    assert text.returncode == 0 and "Traceback" not in text.stderr
    assert "x\\ud800y" in text.stdout
