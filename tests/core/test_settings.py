"""apflow.core.settings: env > config file > defaults, read at call time, errors as ConfigError."""

from __future__ import annotations

import pytest

from apflow.core.errors import ConfigError
from apflow.core.settings import (
    CONFIG_ENV,
    ENV_NAMES,
    MASK,
    Settings,
    describe_settings,
    reload_settings,
    settings,
)


def test_defaults_apply_when_nothing_is_set(clean):
    current = settings()
    assert current == Settings.model_construct()  # every field at its default
    assert (current.max_concurrency, current.task_timeout, current.allow_commands) == (
        32,
        300.0,
        False,
    )


def test_a_changed_variable_takes_effect_on_the_next_call(clean, monkeypatch):
    assert settings().max_concurrency == 32
    monkeypatch.setenv("APFLOW_MAX_CONCURRENCY", "4")
    assert settings().max_concurrency == 4
    monkeypatch.setenv("APFLOW_MAX_CONCURRENCY", "  ")  # blank counts as unset
    assert settings().max_concurrency == 32


def test_the_environment_beats_the_config_file_which_beats_the_defaults(clean, monkeypatch):
    (clean / "apflow.toml").write_text("max_concurrency = 7\ntask_timeout = 2.5\n")
    monkeypatch.setenv("APFLOW_MAX_CONCURRENCY", "9")
    current = reload_settings()
    assert (current.max_concurrency, current.task_timeout, current.llm_attempts) == (9, 2.5, 3)
    sources = {row["name"]: row["source"] for row in describe_settings()["settings"]}
    assert sources["max_concurrency"] == "env"
    assert sources["task_timeout"] == "config file"
    assert sources["llm_attempts"] == "default"


def test_apflow_config_names_the_file_and_must_exist(clean, monkeypatch):
    path = clean / "elsewhere.toml"
    path.write_text('command_allowlist = ["git", "ls"]\n')
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert settings().command_allowlist == ["git", "ls"]
    monkeypatch.setenv(CONFIG_ENV, str(clean / "missing.toml"))
    with pytest.raises(ConfigError, match="APFLOW_CONFIG='.*missing.toml' is not a file"):
        settings()


def test_lists_are_comma_separated_in_the_environment(clean, monkeypatch):
    monkeypatch.setenv("APFLOW_COMMAND_ALLOWLIST", "git, ls,,")
    assert settings().command_allowlist == ["git", "ls"]


@pytest.mark.parametrize(
    ("var", "raw", "expected"),
    [
        ("APFLOW_MAX_CONCURRENCY", "many", "APFLOW_MAX_CONCURRENCY='many' is not a whole number"),
        ("APFLOW_MAX_CONCURRENCY", "0", "APFLOW_MAX_CONCURRENCY='0' is not a whole number >= 1"),
        ("APFLOW_TASK_TIMEOUT", "soon", "APFLOW_TASK_TIMEOUT='soon' is not a number"),
        ("APFLOW_ALLOW_COMMANDS", "maybe", "APFLOW_ALLOW_COMMANDS='maybe' is not a boolean"),
        ("APFLOW_DASK_MAX_RESULT_MB", "-1", "APFLOW_DASK_MAX_RESULT_MB='-1' is not a size in MB"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_variable(clean, monkeypatch, var, raw, expected):
    monkeypatch.setenv(var, raw)
    with pytest.raises(ConfigError) as caught:
        settings()
    assert str(caught.value).startswith(expected)
    assert caught.value.hint
    assert "validation error" not in str(caught.value)  # no pydantic text


def test_a_bad_config_file_is_a_config_error_naming_the_key_or_the_file(clean):
    (clean / "apflow.toml").write_text("max_concurency = 7\n")
    with pytest.raises(ConfigError, match="apflow.toml: unknown setting 'max_concurency'") as e:
        reload_settings()
    assert "max_concurrency" in e.value.hint
    (clean / "apflow.toml").write_text('task_timeout = "soon"\n')
    with pytest.raises(ConfigError, match="apflow.toml: task_timeout = 'soon' is not a number"):
        reload_settings()
    (clean / "apflow.toml").write_text("task_timeout = \n")
    with pytest.raises(ConfigError, match="cannot read the config file apflow.toml"):
        reload_settings()


def test_secrets_are_masked_when_described(clean, monkeypatch):
    monkeypatch.setenv("APFLOW_MCP_TOKEN", "a-very-long-secret-token")
    monkeypatch.setenv("APFLOW_DATABASE_URL", "postgresql+asyncpg://me:hunter2@db/apflow")
    described = describe_settings()
    values = {row["name"]: row["value"] for row in described["settings"]}
    assert values["mcp_token"] == MASK
    assert values["database_url"] == f"postgresql+asyncpg://me:{MASK}@db/apflow"
    assert "hunter2" not in repr(described) and "a-very-long" not in repr(described)
    assert settings().mcp_token.get_secret_value() == "a-very-long-secret-token"


def test_every_setting_is_described_and_named_after_its_variable():
    for name, field in Settings.model_fields.items():
        assert field.description, name
        assert ENV_NAMES[name] == "APFLOW_" + name.upper()


def test_the_old_config_functions_still_work_and_say_where_they_moved(monkeypatch, tmp_path):
    import pytest as _pytest

    from apflow.core import config

    monkeypatch.setenv("APFLOW_TASK_TIMEOUT", "12")
    with _pytest.warns(DeprecationWarning, match=r"settings\(\)\.task_timeout"):
        read = config.default_task_timeout
    assert read() == 12.0
    with _pytest.warns(DeprecationWarning, match="database_url"):
        assert config.database_url(f"sqlite:///{tmp_path}/x.db").endswith("x.db")
