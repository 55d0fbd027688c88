import json

import pytest

from tests.cli.conftest import OFFLINE_TREE


@pytest.fixture
def scripted(tmp_path):
    """``scripted("name", response, ...)`` -> the ``--model`` value replaying those answers."""

    def make(name, *responses):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(list(responses)))
        return f"scripted:{path}"

    return make


def test_generate_writes_the_tree_and_reports_stats_as_json(cli, scripted, tmp_path):
    model = scripted("ok", OFFLINE_TREE)
    out = tmp_path / "tree.json"
    result = cli("generate", "count and greet", "--model", model, "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["path"] == str(out)
    assert data["stats"]["llm_calls"] == 1
    assert data["mode"] == "single_shot"
    assert [t["id"] for t in json.loads(out.read_text())] == ["report", "numbers", "greeting"]
    assert "run" not in data


def test_generate_human_output_shows_tree_fixes_and_path(cli, scripted, tmp_path):
    forest = [{**t, "parent_id": None} for t in OFFLINE_TREE if t["id"] != "report"]
    model = scripted("forest", forest)
    out = tmp_path / "fixed.json"
    result = cli("generate", "count and greet", "--model", model, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "fixed:" in result.stderr  # the missing aggregator root was added deterministically
    assert "1 LLM call" in result.stderr
    assert f"tree written to {out}" in result.stderr.replace("\n", "")
    assert "aggregate_results_executor" in result.stdout
    roots = [t for t in json.loads(out.read_text()) if t["parent_id"] is None]
    assert [r["schemas"]["method"] for r in roots] == ["aggregate_results_executor"]


def test_generate_run_stores_and_runs_the_tree(cli, scripted, tmp_path):
    model = scripted("run", OFFLINE_TREE)
    result = cli(
        "generate",
        "count and greet",
        "--model",
        model,
        "-o",
        str(tmp_path / "t.json"),
        "--run",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["run"]["status"] == "completed"
    assert data["run"]["result"] == {"numbers": 3, "greeting": "hello Ada"}


def test_generate_multi_phase_shows_each_phase(cli, scripted, tmp_path):
    plan = {
        "steps": [
            {"id": "numbers", "does": "count", "executor": "transform_executor", "needs": []},
            {"id": "greeting", "does": "greet", "executor": "transform_executor", "needs": []},
        ]
    }
    model = scripted("mp", plan, OFFLINE_TREE)
    out = tmp_path / "t.json"
    result = cli(
        "generate", "count and greet", "--mode", "multi-phase", "--model", model, "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    phases = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("  ok ")]
    assert phases[:2] == ["plan", "structure"]
    assert "2 LLM calls" in result.stderr
    data = json.loads(
        cli(
            "generate",
            "x",
            "--mode",
            "multi_phase",  # the API's spelling works on the command line too
            "--model",
            scripted("mp2", plan, OFFLINE_TREE),
            "-o",
            str(out),
            "--json",
        ).stdout
    )
    # plan steps are numbered by position; "does" keeps what the step was
    assert data["mode"] == "multi_phase" and data["plan"][0]["id"] == "t1"
    assert data["plan"][0]["does"] == "count"


def test_generation_that_never_validates_lists_remaining_issues(cli, scripted, tmp_path):
    bad = [{"id": "only", "schemas": {"method": "no_such_executor_anywhere"}}]
    model = scripted("bad", bad, bad, bad, bad)
    result = cli("generate", "do it", "--model", model, "-o", str(tmp_path / "t.json"))
    assert result.exit_code == 1
    assert "unknown_executor" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "t.json").exists()


def test_unknown_executor_in_allow_list_is_one_line_error(cli, scripted):
    result = cli("generate", "x", "--model", scripted("x", OFFLINE_TREE), "--executors", "nope")
    assert result.exit_code == 1
    assert "nope" in result.stderr and "Traceback" not in result.output


def test_hosted_model_without_key_says_which_variable_to_set(cli, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = cli("generate", "x", "--model", "openai/gpt-4o-mini")
    assert result.exit_code == 1
    assert "OPENAI_API_KEY" in result.stderr
    assert "Traceback" not in result.output


def test_no_model_configured_names_the_install_command(cli, monkeypatch, tmp_path):
    monkeypatch.delenv("APFLOW_MODEL", raising=False)
    monkeypatch.setenv("APFLOW_MODELS_DIR", str(tmp_path / "no-models"))
    result = cli("generate", "x")
    assert result.exit_code == 1
    assert "apflow models install" in result.stderr


def test_requirement_from_stdin_and_from_a_file(cli, scripted, tmp_path):
    """A long requirement cannot be an argument (the OS refuses a 1 MB argv): - and --file."""
    model = scripted("ok", OFFLINE_TREE, OFFLINE_TREE)
    piped = cli("generate", "-", "--model", model, "--json", input="count and greet\n")
    assert piped.exit_code == 0, piped.output
    requirement = tmp_path / "req.txt"
    requirement.write_text("count and greet\n", encoding="utf-8")
    filed = cli("generate", "--file", str(requirement), "--model", model, "--json")
    assert filed.exit_code == 0, filed.output
    for result in (piped, filed):
        assert json.loads(result.stdout)["stats"]["llm_calls"] == 1


def test_requirement_over_the_limit_names_the_limit_and_calls_no_model(cli, tmp_path):
    calls = tmp_path / "answers.json"
    calls.write_text("[]")  # any model call would fail with "no more scripted responses"
    model = f"scripted:{calls}"
    big = tmp_path / "big.txt"
    big.write_text("x" * 1_000_000)
    for args, stdin in ((["--file", str(big)], None), (["-"], "y" * 1_000_000)):
        result = cli("generate", *args, "--model", model, input=stdin)
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert lines[0] == (
            "error: the requirement is longer than 20,000 characters (APFLOW_MAX_REQUIREMENT_CHARS)"
        )
        assert lines[1].startswith("hint: ") and len(lines) == 2
    # An argument just over the limit gets the exact count.
    result = cli("generate", "z" * 20_001, "--model", model)
    assert result.exit_code == 1
    assert "the requirement is 20,001 characters long; the limit is 20,000" in result.stderr


def test_requirement_given_twice_or_not_at_all_is_a_usage_error(cli, tmp_path):
    path = tmp_path / "req.txt"
    path.write_text("count")
    for args in ([], ["count", "--file", str(path)]):
        result = cli("generate", *args)
        assert result.exit_code == 2
        assert "give the requirement once" in result.stderr
    not_text = tmp_path / "bin.txt"
    not_text.write_bytes(b"\xff\xfe\x00")
    result = cli("generate", "--file", str(not_text))
    assert result.exit_code == 1 and "is not UTF-8 text" in result.stderr


def test_a_request_written_as_a_bullet_list_is_a_request_not_an_option(tmp_path):
    """`apflow generate "- GET https://..."` was refused with "No such option: -"."""
    import json as jsonlib

    from apflow.cli.app import text_arguments_kept
    from tests.cli.conftest import run_module

    bullets = "- GET https://api.example.com/x\n- summarise it"
    assert text_arguments_kept(["generate", bullets, "--json"]) == [
        "generate",
        " " + bullets,
        "--json",
    ]
    assert text_arguments_kept(["generate", "--json"]) == ["generate", "--json"]
    assert text_arguments_kept(["validate", "- x y"]) == ["validate", "- x y"]
    answers = tmp_path / "answers.json"
    tree = {
        "tasks": [
            {
                "id": "t1",
                "schemas": {"method": "rest_executor"},
                "inputs": {"url": "https://api.example.com/x"},
            }
        ]
    }
    answers.write_text(jsonlib.dumps([tree]))
    done = run_module(
        "generate",
        bullets,
        "--model",
        f"scripted:{answers}",
        "--json",
        "-o",
        str(tmp_path / "t.json"),
    )
    assert done.returncode == 0, done.stderr
    assert "No such option" not in done.stderr
