import json


def test_demo_without_a_model_replays_the_recording_and_runs_offline(cli, monkeypatch, tmp_path):
    monkeypatch.delenv("APFLOW_MODEL", raising=False)
    monkeypatch.setenv("APFLOW_MODELS_DIR", str(tmp_path / "no-models"))
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert "using the recorded answer" in result.stderr
    assert "apflow models install" in result.stderr
    assert "system_info_executor" in result.stdout
    assert '"logical_cores"' in result.stdout and '"total_bytes"' in result.stdout
    assert "completed" in result.stdout


def test_demo_with_an_explicit_model_uses_it(cli, tmp_path):
    tree = [
        {"id": "root", "schemas": {"method": "aggregate_results_executor"}, "dependencies": ["s"]},
        {
            "id": "s",
            "parent_id": "root",
            "schemas": {"method": "system_info_executor"},
            "inputs": {"sections": ["python"]},
        },
    ]
    path = tmp_path / "answers.json"
    path.write_text(json.dumps([tree]))
    result = cli("demo", "--model", f"scripted:{path}")
    assert result.exit_code == 0, result.output
    assert "recorded answer" not in result.stderr
    assert '"python"' in result.stdout


def test_demo_runs_the_recording_when_the_generated_tree_fails_at_run_time(cli, tmp_path):
    fails = [
        {"id": "root", "schemas": {"method": "aggregate_results_executor"}, "dependencies": ["t"]},
        {
            "id": "t",
            "parent_id": "root",
            "schemas": {"method": "transform_executor"},
            "inputs": {"data": {"a": 1}, "operations": [{"op": "pluck", "path": "missing"}]},
        },
    ]
    path = tmp_path / "answers.json"
    path.write_text(json.dumps([fails]))
    result = cli("demo", "--model", f"scripted:{path}")
    assert "did not complete; running the recorded answer" in result.stderr
    assert result.exit_code == 0, result.output
    assert '"total_bytes"' in result.stdout
