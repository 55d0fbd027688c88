"""The executor registry: ids, clashes, schema checks, lookups, entry-point plugins."""

from __future__ import annotations

import importlib
import logging
import textwrap

import pytest

import apflow
from apflow.core.errors import ExecutorNotFound, ExecutorRegistrationError
from apflow.core.executor import BaseTask, ExecutableTask, snake_case
from apflow.core.registry import ExecutorRegistry, executor_register


@pytest.fixture
def reg() -> ExecutorRegistry:
    return ExecutorRegistry()


def test_default_id_is_the_snake_case_class_name(reg):
    @executor_register(registry=reg)
    class FetchUserData(BaseTask):
        async def execute(self, inputs):
            return {"status": "completed", "result": None}

    @executor_register(registry=reg)
    class HTTPFetch(ExecutableTask):
        pass

    assert reg.ids() == ["fetch_user_data", "http_fetch"]
    assert FetchUserData.id == "fetch_user_data"
    assert isinstance(reg.get("fetch_user_data"), FetchUserData)
    assert snake_case("APICallExecutor") == "api_call_executor"


def test_explicit_id_wins(reg):
    @executor_register(id="custom_id", registry=reg)
    class Whatever(BaseTask):
        pass

    class WithAttr(BaseTask):
        id = "from_attr"

    reg.register(WithAttr)
    assert reg.ids() == ["custom_id", "from_attr"]


def test_registering_a_different_class_under_a_taken_id_raises_unless_override(reg):
    class One(BaseTask):
        id = "same"

    class Two(BaseTask):
        id = "same"

    reg.register(One)
    reg.register(One)  # the same class again is fine (re-imports)
    with pytest.raises(ExecutorRegistrationError, match="already registered") as err:
        reg.register(Two)
    assert "override=True" in str(err.value)
    assert reg.get_class("same") is One
    reg.register(Two, override=True)
    assert reg.get_class("same") is Two


def test_invalid_input_schema_is_refused_at_registration(reg):
    class BadSchema(BaseTask):
        input_schema = {"type": "not-a-type"}

    class BadOutput(BaseTask):
        output_schema = {"properties": 5}

    with pytest.raises(ExecutorRegistrationError, match="invalid JSON Schema"):
        reg.register(BadSchema)
    with pytest.raises(ExecutorRegistrationError, match="bad_output"):
        reg.register(BadOutput)
    assert reg.ids() == []


def test_dynamic_schema_from_get_input_schema_is_checked(reg):
    class Dynamic(BaseTask):
        def get_input_schema(self):
            return {"type": "object", "required": "url"}  # must be a list

    with pytest.raises(ExecutorRegistrationError):
        reg.register(Dynamic)


def test_non_executor_is_refused(reg):
    with pytest.raises(ExecutorRegistrationError):
        reg.register(object)  # type: ignore[arg-type]


def test_unknown_id_names_the_closest_ids(reg):
    for name in ("fetch_user_data", "fetch_orders", "send_email"):
        reg.register(type(name.title().replace("_", ""), (BaseTask,), {"id": name}))
    with pytest.raises(ExecutorNotFound) as err:
        reg.get("fetch_usr_data")
    assert err.value.suggestions[0] == "fetch_user_data"
    assert "send_email" not in err.value.suggestions
    assert "fetch_user_data" in str(err.value)
    assert isinstance(err.value, KeyError)


def test_get_returns_a_new_instance_each_time_and_describe(reg):
    class Doc(BaseTask):
        """Docstring description."""

        id = "doc"
        input_schema = {"type": "object", "properties": {"q": {"type": "string"}}}

    reg.register(Doc)
    assert reg.get("doc") is not reg.get("doc")
    info = reg.describe("doc")
    assert info["description"] == "Docstring description."
    assert info["input_schema"]["properties"]["q"] == {"type": "string"}
    assert reg.list() == [info]


def test_temporarily_and_copy(reg):
    class Temp(BaseTask):
        id = "temp"

    with reg.temporarily(Temp) as r:
        assert "temp" in r
        clone = reg.copy()
    assert "temp" not in reg
    assert "temp" in clone


def test_public_list_and_get_include_the_builtin_aggregator():
    ids = [e["id"] for e in apflow.list_executors()]
    assert "aggregate_results_executor" in ids
    entry = next(e for e in apflow.list_executors() if e["id"] == "aggregate_results_executor")
    assert entry["description"] and entry["input_schema"]["type"] == "object"
    assert type(apflow.get_executor("aggregate_results_executor")).__name__ == (
        "AggregateResultsExecutor"
    )
    with pytest.raises(ExecutorNotFound, match="aggregate_results_executor"):
        apflow.get_executor("aggregate_result_executor")


# -- entry points ----------------------------------------------------------------------------


@pytest.fixture
def plugin_dist(tmp_path, monkeypatch):
    """An installed-looking distribution on sys.path with ``apflow.executors`` entry points."""
    (tmp_path / "acme_plugin.py").write_text(
        textwrap.dedent(
            """
            from apflow.core.executor import BaseTask

            class AcmeGreeter(BaseTask):
                description = "Greets, from a plugin."
                async def execute(self, inputs):
                    return {"status": "completed", "result": "hello " + inputs["who"]}

            class Other(BaseTask):
                id = "acme_other"

            def register(registry):
                registry.register(Other)
            """
        )
    )
    dist = tmp_path / "acme_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[apflow.executors]\n"
        "greeter = acme_plugin:AcmeGreeter\n"
        "other = acme_plugin:register\n"
        "broken = acme_plugin_missing:Nothing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield
    import sys

    sys.modules.pop("acme_plugin", None)


async def test_entry_point_plugins_are_discovered(plugin_dist, caplog, tmp_path, db_url):
    reg = ExecutorRegistry(load_plugins=True)
    with caplog.at_level(logging.ERROR, logger="apflow"):
        ids = reg.ids()
    assert "acme_greeter" in ids and "acme_other" in ids
    assert reg.describe("acme_greeter")["description"] == "Greets, from a plugin."
    # A broken plugin is logged by name and does not take the registry down.
    assert any("broken" in r.getMessage() for r in caplog.records)

    # A discovered executor runs in a tree like any other.
    from apflow.core.database import create_session
    from apflow.core.engine import TaskManager

    session = create_session(db_url)
    manager = TaskManager(session, registry=reg)
    task = await manager.task_repository.create_task(
        name="greet", schemas={"method": "acme_greeter"}, inputs={"who": "plugin"}
    )
    await manager.run_tree(task.id)
    row = await manager.task_repository.get_task_by_id(task.id)
    assert (row.status, row.result) == ("completed", "hello plugin")
    await session.close()


def test_plugins_load_lazily_on_first_lookup(plugin_dist):
    reg = ExecutorRegistry(load_plugins=True)
    assert reg._classes == {}
    assert "acme_greeter" in reg
    assert "acme_greeter" in reg._classes


def test_without_load_plugins_nothing_is_discovered(plugin_dist):
    assert ExecutorRegistry().ids() == []


def test_builtins_come_through_the_entry_point_into_every_plugin_registry():
    from apflow.executors import BUILTINS, register_builtins

    fresh = ExecutorRegistry(load_plugins=True)
    builtin_ids = sorted(cls.id for cls in BUILTINS)
    assert len(builtin_ids) == 9
    # generate_executor (in apflow.service) has an entry point of its own
    assert set(builtin_ids) | {"generate_executor"} <= set(fresh.ids())
    assert set(fresh.ids()) <= set(apflow.default_registry.ids())
    # importing the package registered nothing anywhere; the callable fills any registry
    bare = ExecutorRegistry()
    assert bare.ids() == []
    register_builtins(bare)
    assert bare.ids() == builtin_ids


def test_temporarily_on_a_registry_not_yet_loaded_keeps_its_plugins_afterwards():
    fresh = ExecutorRegistry(load_plugins=True)
    with fresh.temporarily():
        assert "aggregate_results_executor" in fresh
    assert "aggregate_results_executor" in fresh
