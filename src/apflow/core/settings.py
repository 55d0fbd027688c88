"""apflow's settings: one pydantic model, read from ``APFLOW_*`` variables and a TOML file.

Precedence: environment > config file (``$APFLOW_CONFIG``, else ``./apflow.toml``) > defaults.
:func:`settings` is read at call time and cached: the cache is keyed on the ``APFLOW_*``
variables and the working directory, so a changed variable takes effect on the next call.
This is the only module that reads ``os.environ`` for apflow's own settings.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from apflow.core.errors import ConfigError

ENV_PREFIX = "APFLOW_"
#: Names the config file; unset, ``./apflow.toml`` is read when it exists.
CONFIG_ENV = "APFLOW_CONFIG"
DEFAULT_CONFIG_FILE = Path("apflow.toml")

CommaList = Annotated[list[str], NoDecode]


def _mb(default: int, off: str, description: str) -> Any:
    return Field(
        default,
        ge=0,
        description=f"{description} (MB; 0 to {off})",
        json_schema_extra={
            "expect": "a size in MB",
            "hint": f"unset it ({default} MB), or 0 to {off}",
        },
    )


class Settings(BaseSettings):
    """Every apflow setting; each field ``name`` is the variable ``APFLOW_NAME``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, str_strip_whitespace=True
    )

    database_url: str | None = Field(
        None,
        description="Database: a SQLite file path (ending in .db), `:memory:`, or an async "
        "SQLAlchemy URL such as postgresql+asyncpg://user@host/db. Unset: ./.apflow/apflow.db",
    )
    model: str | None = Field(
        None,
        description="Default model: `local`, `local:/path.gguf`, `scripted:FILE` or a litellm "
        "`provider/model` string. Unset: `local` when the embedded model is installed",
    )
    api_base: str | None = Field(
        None, description="Base URL of an OpenAI-compatible server for provider/model strings"
    )
    llm_timeout: float = Field(120.0, gt=0, description="Seconds one hosted model call may take")
    llm_attempts: int = Field(
        3, ge=1, description="Tries of a hosted model call on transient errors"
    )
    task_timeout: float = Field(
        300.0, ge=0.001, description="Seconds a task may run when its params give no timeout"
    )
    max_concurrency: int = Field(
        32, ge=1, description="Tasks running at once in one tree (on a Dask cluster: its slots)"
    )
    max_requirement_chars: int = Field(
        20_000,
        ge=1,
        description="Characters a generation requirement may have (it goes into every prompt)",
    )
    generation_timeout: float = Field(
        180.0,
        ge=0,
        description="Seconds one generation may take, model calls and re-asks included; 0: none",
    )
    dask_address: str | None = Field(
        None,
        description="Run executors on this Dask scheduler (tcp://host:8786) or `local:N`. "
        "Unset: in this process",
    )
    dask_max_result_mb: int = _mb(16, "send results of any size", "Largest result a worker sends")
    allow_private_network: bool = Field(
        False, description="Let HTTP executors reach loopback and private addresses"
    )
    allow_commands: bool = Field(
        False, description="Enable command_executor (only for programs in command_allowlist)"
    )
    command_allowlist: CommaList = Field(
        [], description="Programs command_executor may start (comma-separated in the environment)"
    )
    mcp_allowlist: CommaList = Field(
        [], description="Programs mcp_tool_executor may start as stdio MCP servers"
    )
    mcp_token: SecretStr | None = Field(
        None, description="Bearer token of the MCP HTTP server (user `mcp`; 16+ characters)"
    )
    mcp_tokens: SecretStr | None = Field(
        None, description="More MCP users and tokens: `alice:token1,bob:token2`"
    )
    mcp_tokens_file: Path | None = Field(
        None, description="File of `user_id:token` lines for the MCP HTTP server"
    )
    ui_token: SecretStr | None = Field(
        None, description="Token the web console requires with --allow-remote (else mcp_token)"
    )
    models_dir: Path | None = Field(
        None, description="Folder of local GGUF models. Unset: <user data dir>/apflow/models"
    )
    local_threads: int | None = Field(
        None,
        ge=1,
        description="Threads of the embedded model. Unset: the free CPU cores",
        json_schema_extra={
            "expect": "a positive integer",
            "hint": "unset it to use the free CPU cores, or set e.g. 2",
        },
    )
    local_cache_mb: int = _mb(
        512, "turn the prompt cache off", "RAM prompt cache of the local model"
    )
    local_state_dir: Path | None = Field(
        None,
        description="Folder of evaluated prompt states. "
        "Unset: <user cache dir>/apflow/prompt-states",
    )
    local_state_mb: int = _mb(1024, "keep no prompt states on disk", "Disk kept for prompt states")
    testing: bool = Field(
        False, description="Refuse every real model request (the test suite sets it)"
    )

    @field_validator("command_allowlist", "mcp_allowlist", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_file()
        file = TomlConfigSettingsSource(settings_cls, toml_file=path) if path else None
        return (init_settings, _Environment(settings_cls), *([file] if file else []))


def revealed(secret: SecretStr | None) -> str | None:
    """The text of a secret setting (a token), or None when it is unset or blank."""
    return (secret.get_secret_value() or None) if secret is not None else None


def env_name(field: str) -> str:
    """The environment variable of a setting: ``max_concurrency`` -> ``APFLOW_MAX_CONCURRENCY``."""
    return ENV_PREFIX + field.upper()


ENV_NAMES = {name: env_name(name) for name in Settings.model_fields}


def environment() -> dict[str, str]:
    """The set ``APFLOW_*`` settings variables, by field name (blank counts as unset)."""
    found = {}
    for name, var in ENV_NAMES.items():
        raw = os.environ.get(var, "").strip()
        if raw:
            found[name] = raw
    return found


#: Named SQL connections (``sql_executor``): ``APFLOW_SQL_<NAME>=<url>`` and
#: ``APFLOW_SQL_<NAME>_WRITE=1``. A family of variables rather than fields: the names are
#: the operator's.
SQL_PREFIX = "APFLOW_SQL_"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def sql_connections() -> dict[str, tuple[str, bool, str]]:
    """Every configured SQL connection: lower-case name -> (url, writes allowed, variable)."""
    found = {}
    for variable, raw in sorted(os.environ.items()):
        if not variable.startswith(SQL_PREFIX) or variable.endswith("_WRITE") or not raw.strip():
            continue
        switch = os.environ.get(f"{variable}_WRITE", "").strip().lower()
        if switch not in _TRUE | _FALSE:
            raise ConfigError(
                f"{variable}_WRITE={switch!r} is not a switch",
                hint=f"set {variable}_WRITE=1 to allow writes, or leave it unset",
            )
        found[variable[len(SQL_PREFIX) :].lower()] = (raw.strip(), switch in _TRUE, variable)
    return found


class _Environment(EnvSettingsSource):
    """Exactly the upper-case names (what the cache key watches), stripped, blanks unset."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {ENV_NAMES[name].lower(): raw for name, raw in environment().items()}


def config_file() -> Path | None:
    """``$APFLOW_CONFIG`` (which must exist), else ``./apflow.toml`` if it exists, else None."""
    named = os.environ.get(CONFIG_ENV, "").strip()
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"{CONFIG_ENV}={named!r} is not a file",
                hint=f"point {CONFIG_ENV} at a TOML file of settings, or unset it",
            )
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings table of a TOML file; a file that cannot be read or parsed is a ConfigError."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"cannot read the config file {path}: {getattr(exc, 'strerror', None) or exc}",
            hint="write `name = value` lines of TOML; `apflow config show` lists the names",
        ) from None


def load_settings() -> Settings:
    """Read every setting now (no cache). Raises ConfigError naming the bad variable or key."""
    path = config_file()
    if path:
        read_config_file(path)  # a syntax error becomes a ConfigError before pydantic sees it
    try:
        return Settings()
    except ValidationError as exc:
        raise _config_error(exc, path) from None


def _config_error(exc: ValidationError, path: Path | None) -> ConfigError:
    env = environment()
    messages, hints = [], []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        field = Settings.model_fields.get(name)
        if field is None:
            messages.append(f"{path}: unknown setting {name!r}")
            hints.append("known: " + ", ".join(Settings.model_fields))
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        given = (
            f"{ENV_NAMES[name]}={env[name]!r}"
            if name in env
            else f"{path}: {name} = {error.get('input')!r}"
        )
        expect = extra.get("expect") or _expected(field.annotation, field.metadata)
        messages.append(f"{given} is not {expect}")
        default = "unset" if field.default is None else repr(field.default)
        hints.append(str(extra.get("hint") or f"{name} is {default} by default"))
    return ConfigError("; ".join(messages), hint="; ".join(dict.fromkeys(hints)))


def _expected(annotation: Any, metadata: list[Any]) -> str:
    text = str(annotation)
    kind = (
        "a whole number"
        if "int" in text
        else "a number"
        if "float" in text
        else "a boolean (1/0, true/false, yes/no, on/off)"
        if "bool" in text
        else "a valid value"
    )
    bounds = [
        f"{op} {getattr(m, attr)}"
        for m in metadata
        for attr, op in (("ge", ">="), ("gt", ">"))
        if getattr(m, attr, None) is not None
    ]
    return " ".join([kind, *bounds])


def _cache_key() -> tuple[Any, ...]:
    # Read os.environ's own dict: 26 os.environ.get calls cost ~30 us, this ~2 us, and the
    # engine asks for the task timeout once per task.
    values = tuple(map(_RAW.get, _RAW_KEYS)) if _RAW is not None else tuple(map(os.getenv, _KEYS))
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    return values, cwd


_KEYS = (*ENV_NAMES.values(), CONFIG_ENV)
_RAW: dict[Any, Any] | None = getattr(os.environ, "_data", None)
_RAW_KEYS = tuple(os.environ.encodekey(k) for k in _KEYS) if _RAW is not None else ()
_cached: tuple[tuple[Any, ...], Settings] | None = None


def settings() -> Settings:
    """The current settings, read again when an ``APFLOW_*`` variable or the working
    directory changed. Raises ConfigError for a bad value. After editing the config file
    in a running process, call :func:`reload_settings`."""
    global _cached
    key = _cache_key()
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    loaded = load_settings()
    _cached = (key, loaded)
    return loaded


def reload_settings() -> Settings:
    """Forget the cached settings and read them again (the config file was edited)."""
    global _cached
    _cached = None
    return settings()


# -- what `apflow config show` prints ---------------------------------------------------

MASK = "********"


def masked(value: Any) -> Any:
    """``value`` as JSON, with secrets hidden: tokens entirely, the password of a URL."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str) and "://" in value:
        parts = urlsplit(value)
        if parts.password is not None:
            host = parts.netloc.rpartition("@")[2]
            return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}"))
    return value


def describe_settings() -> dict[str, Any]:
    """The effective settings, each with its variable, masked value, source
    (``env``, ``config file`` or ``default``) and description; raises ConfigError."""
    current = settings()
    env = environment()
    path = config_file()
    data = read_config_file(path) if path else {}
    rows = []
    for name, field in Settings.model_fields.items():
        source = "env" if name in env else "config file" if name in data else "default"
        rows.append(
            {
                "name": name,
                "env": ENV_NAMES[name],
                "value": masked(getattr(current, name)),
                "source": source,
                "description": field.description,
            }
        )
    return {"config_file": str(path) if path else None, "settings": rows}
