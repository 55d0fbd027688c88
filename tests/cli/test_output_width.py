"""Lines that carry a path, an id or a verdict print whole when output is not a terminal.

Rich wraps at 80 columns by default when it cannot ask a terminal for its width, which
split ``ok <long path> is a valid task tree`` in two and broke ``apflow validate x | grep``.
"""

from __future__ import annotations

import json

from tests.cli.conftest import OFFLINE_TREE, run_module


def _long_dir(tmp_path):
    path = tmp_path / ("d" * 60) / ("e" * 60)
    path.mkdir(parents=True)
    return path


def test_validate_verdict_is_one_line_for_a_long_path(cli, tmp_path):
    path = _long_dir(tmp_path) / "tree.json"
    path.write_text(json.dumps(OFFLINE_TREE))
    assert len(str(path)) > 120
    result = cli("validate", str(path))
    assert result.exit_code == 0
    assert f"ok {path} is a valid task tree (3 tasks)" in result.stdout.splitlines()


def test_show_warning_names_the_long_path_on_one_line(cli, tmp_path):
    tree = json.loads(json.dumps(OFFLINE_TREE))
    tree[1]["schemas"]["method"] = "nope_executor"
    path = _long_dir(tmp_path) / "t.json"
    path.write_text(json.dumps(tree))
    result = cli("show", str(path))
    assert result.exit_code == 0
    warning = next(line for line in result.stderr.splitlines() if "warning:" in line)
    assert str(path) in warning and "has 1 issue" in warning


def test_piped_validate_prints_its_verdict_on_one_line(tmp_path):
    """A real subprocess, stdout a pipe and no COLUMNS: what ``| grep`` sees."""
    path = _long_dir(tmp_path) / "tree.json"
    path.write_text(json.dumps(OFFLINE_TREE))
    env = {"COLUMNS": "", "TERM": "dumb"}
    proc = run_module("validate", str(path), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"ok {path} is a valid task tree (3 tasks)"]
