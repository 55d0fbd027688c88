"""``apflow config show``: every setting, its value and its source; secrets masked."""

from __future__ import annotations

import json

from apflow.core.settings import MASK, Settings


def test_config_show_json_lists_every_setting_with_its_source(cli, clean, monkeypatch):
    (clean / "apflow.toml").write_text("task_timeout = 12\n")
    monkeypatch.setenv("APFLOW_MAX_CONCURRENCY", "3")
    result = cli("config", "show", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["config_file"] == "apflow.toml"
    rows = {row["name"]: row for row in shown["settings"]}
    assert list(rows) == list(Settings.model_fields)
    assert (rows["max_concurrency"]["value"], rows["max_concurrency"]["source"]) == (3, "env")
    assert (rows["task_timeout"]["value"], rows["task_timeout"]["source"]) == (12.0, "config file")
    assert (rows["llm_attempts"]["value"], rows["llm_attempts"]["source"]) == (3, "default")
    assert rows["max_concurrency"]["env"] == "APFLOW_MAX_CONCURRENCY"
    assert all(row["description"] for row in rows.values())


def test_config_show_masks_tokens_and_url_passwords(cli, clean, monkeypatch):
    monkeypatch.setenv("APFLOW_UI_TOKEN", "ui-secret-0123456789")
    monkeypatch.setenv("APFLOW_MCP_TOKENS", "alice:mcp-secret-0123456789")
    monkeypatch.setenv("APFLOW_API_BASE", "https://bob:pa55word@llm.example/v1")
    for args in (("config", "show"), ("config", "show", "--json")):
        result = cli(*args)
        assert result.exit_code == 0, result.output
        for secret in ("ui-secret", "mcp-secret", "pa55word"):
            assert secret not in result.output
        assert MASK in result.stdout
    table = cli("config", "show").stdout
    assert "APFLOW_UI_TOKEN" in table and "https://bob:" in table


def test_config_show_reports_the_global_db_option_as_the_database(cli, clean):
    result = cli("--db", "postgresql+asyncpg://me:hunter2@db/apflow", "config", "show", "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)["settings"]}
    assert rows["database_url"] == {
        **rows["database_url"],
        "value": f"postgresql+asyncpg://me:{MASK}@db/apflow",
        "source": "--db",
    }


def test_config_show_names_a_bad_variable_in_one_line(cli, clean, monkeypatch):
    monkeypatch.setenv("APFLOW_TASK_TIMEOUT", "soon")
    result = cli("config", "show")
    assert result.exit_code == 1
    assert "APFLOW_TASK_TIMEOUT='soon' is not a number" in result.stderr
    assert "Traceback" not in result.output
