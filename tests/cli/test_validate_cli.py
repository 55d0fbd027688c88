import json

from tests.cli.conftest import OFFLINE_TREE


def _invalid(tmp_path):
    tree = json.loads(json.dumps(OFFLINE_TREE))
    tree[1]["schemas"]["method"] = "transform_executer"
    tree[2]["dependencies"] = ["ghost"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(tree))
    return path


def test_valid_tree_exits_zero(cli, tree_file):
    result = cli("validate", str(tree_file))
    assert result.exit_code == 0
    assert "valid task tree (3 tasks)" in result.stdout


def test_invalid_tree_lists_each_issue_with_code_task_and_hint(cli, tmp_path):
    result = cli("validate", str(_invalid(tmp_path)))
    assert result.exit_code == 1
    assert "unknown_executor" in result.stderr and "task numbers" in result.stderr
    assert "missing_dependency" in result.stderr and "task greeting" in result.stderr
    assert "hint:" in result.stderr and "transform_executor" in result.stderr


def test_validate_json_prints_the_documented_shape_only(cli, tmp_path):
    result = cli("validate", str(_invalid(tmp_path)), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert {i["code"] for i in data["issues"]} == {"unknown_executor", "missing_dependency"}
    for issue in data["issues"]:
        assert set(issue) == {"code", "task_id", "path", "message", "hint"}
    unknown = next(i for i in data["issues"] if i["code"] == "unknown_executor")
    assert unknown["task_id"] == "numbers" and unknown["path"].endswith("schemas.method")


def test_valid_json_output(cli, tree_file):
    result = cli("validate", str(tree_file), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"valid": True, "issues": [], "warnings": []}


def test_bad_json_file_is_reported_as_an_invalid_json_issue(cli, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[{"id": "a",}]')
    result = cli("validate", str(path), "--json")
    assert result.exit_code == 1
    assert [i["code"] for i in json.loads(result.stdout)["issues"]] == ["invalid_json"]


def test_missing_file_is_one_line_error(cli, tmp_path):
    result = cli("validate", str(tmp_path / "nope.json"))
    assert result.exit_code == 1
    assert "nope.json: not found" in result.stderr
    assert result.stdout == ""


def test_fix_applies_deterministic_repairs_and_writes_a_valid_tree(cli, tmp_path):
    forest = [
        {"id": "facts", "schemas": {"method": "system_info_executor"}},
        {
            "id": "count",
            "schemas": {"method": "Transform-Executor"},
            "dependencies": ["facts"],
            "inputs": {"data": "${facts.result}", "operations": [{"op": "count"}]},
        },
    ]
    source = tmp_path / "forest.json"
    source.write_text(json.dumps(forest))
    target = tmp_path / "fixed.json"
    result = cli("validate", str(source), "--fix", "-o", str(target), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["valid"] is True and data["issues"] == []
    assert any("transform_executor" in f for f in data["fixes"])
    fixed = json.loads(target.read_text())
    root = next(t for t in fixed if t["schemas"]["method"] == "aggregate_results_executor")
    assert {d["id"] for d in root["dependencies"]} == {"facts", "count"}
    assert json.loads(source.read_text()) == forest  # -o leaves the original alone
    assert cli("validate", str(target)).exit_code == 0


def test_fix_still_reports_what_needs_judgement(cli, tmp_path):
    result = cli("validate", str(_invalid(tmp_path)), "--fix", "--json")
    assert result.exit_code == 1
    codes = {i["code"] for i in json.loads(result.stdout)["issues"]}
    assert "missing_dependency" in codes
