import json


def test_executors_list_json_has_ids_descriptions_and_schemas(cli):
    result = cli("executors", "list", "--json")
    assert result.exit_code == 0
    listed = {e["id"]: e for e in json.loads(result.stdout)}
    assert "aggregate_results_executor" in listed
    assert listed["transform_executor"]["input_schema"]["type"] == "object"
    assert listed["transform_executor"]["description"]


def test_executors_list_table_names_every_executor(cli):
    result = cli("executors", "list")
    assert result.exit_code == 0
    assert "aggregate_results_executor" in result.stdout
    assert "transform_executor" in result.stdout


def test_executors_show_prints_description_and_input_schema(cli):
    result = cli("executors", "show", "transform_executor")
    assert result.exit_code == 0
    assert "input schema" in result.stdout
    assert '"operations"' in result.stdout


def test_executors_show_unknown_id_suggests_the_closest(cli):
    result = cli("executors", "show", "transform_executer")
    assert result.exit_code == 1
    assert "unknown executor 'transform_executer'" in result.stderr
    assert "transform_executor" in result.stderr
    assert "Traceback" not in result.output


def test_executors_show_prints_what_a_call_does_to_the_world(cli):
    rest = cli("executors", "show", "rest_executor")
    assert "effects: read for GET, HEAD and OPTIONS; write for any other method" in rest.stdout
    assert "effects: read (no side effects)" in cli("executors", "show", "llm_executor").stdout
    command = cli("executors", "show", "command_executor", "--json")
    assert json.loads(command.stdout)["effects"] == "write"
