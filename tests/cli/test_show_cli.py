import json

from tests.cli.conftest import OFFLINE_TREE


def test_show_file_as_text_tree(cli, tree_file):
    result = cli("show", str(tree_file))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("report aggregate_results_executor <- numbers, greeting")
    assert any("numbers transform_executor" in line for line in lines[1:])


def test_show_file_as_mermaid_and_json(cli, tree_file):
    mermaid = cli("show", str(tree_file), "--format", "mermaid")
    assert mermaid.stdout.startswith("flowchart")
    assert "-->" in mermaid.stdout
    as_json = json.loads(cli("show", str(tree_file), "-f", "json").stdout)
    assert [t["id"] for t in as_json] == [t["id"] for t in OFFLINE_TREE]


def test_show_stored_tree_has_statuses(cli, tree_file):
    root_id = json.loads(cli("run", str(tree_file), "--json").stdout)["root_id"]
    text = cli("show", root_id)
    assert text.exit_code == 0
    assert "report aggregate_results_executor completed" in text.stdout
    mermaid = cli("show", root_id, "--format", "mermaid").stdout
    assert "completed" in mermaid and mermaid.startswith("flowchart")
    stored = json.loads(cli("show", root_id, "--format", "json").stdout)
    assert stored[0]["id"] == root_id and len(stored) == 3


def test_show_unknown_root_id_is_one_line_error(cli):
    result = cli("show", "not-a-root")
    assert result.exit_code == 1
    assert "no task with id 'not-a-root'" in result.stderr


def test_show_rejects_an_unknown_format_as_usage_error(cli, tree_file):
    assert cli("show", str(tree_file), "--format", "svg").exit_code == 2


def test_show_invalid_file_still_draws_it_but_warns(cli, tmp_path):
    tree = json.loads(json.dumps(OFFLINE_TREE))
    tree[1]["schemas"]["method"] = "nope_executor"
    path = tmp_path / "t.json"
    path.write_text(json.dumps(tree))
    result = cli("show", str(path))
    assert result.exit_code == 0
    assert "numbers nope_executor" in result.stdout
    assert "has 1 issue" in result.stderr
