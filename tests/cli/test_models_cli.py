"""``apflow models install`` / ``apflow models list`` against fake model packages."""

from __future__ import annotations

import importlib
import json

import pytest

from apflow.llm import local_models
from tests.cli.conftest import run_module
from tests.llm.test_local_models import PARTS, fake_spec, install_fake_dist


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    for index, data in enumerate(PARTS, 1):
        install_fake_dist(site, f"apflowclifake-part{index}", data, index)
    spec = fake_spec("apflowclifake")
    monkeypatch.setitem(local_models.CATALOGUE, spec.name, spec)
    monkeypatch.setenv("APFLOW_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path / "models" / spec.filename


def test_install_prints_only_the_path_on_stdout_and_is_idempotent(cli, fake_model):
    first = cli("models", "install", "fake-model")
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == str(fake_model)
    assert "Installing fake-model" in first.stderr
    assert fake_model.read_bytes() == b"".join(PARTS)
    second = cli("models", "install", "fake-model")
    assert second.exit_code == 0
    assert second.stdout.strip() == str(fake_model)
    assert "already installed" in second.stderr and "Installing" not in second.stderr


def test_list_json_reports_installed_size_and_path(cli, fake_model):
    before = {m["name"]: m for m in json.loads(cli("models", "list", "--json").stdout)}
    assert before["fake-model"]["installed"] is False
    cli("models", "install", "fake-model")
    after = {m["name"]: m for m in json.loads(cli("models", "list", "--json").stdout)}
    assert after["fake-model"] == {
        "name": "fake-model",
        "path": str(fake_model),
        "installed": True,
        "size": len(b"".join(PARTS)),
        "description": "test model",
    }
    assert "qwen2.5-coder-1.5b" in after


def test_list_table_names_each_model(cli, fake_model):
    cli("models", "install", "fake-model")
    result = cli("models", "list")
    assert result.exit_code == 0
    assert "fake-model" in result.stdout and "yes" in result.stdout
    assert "smollm2-135m" in result.stdout


def test_unknown_model_is_one_error_line_with_the_known_names(cli, fake_model):
    result = cli("models", "install", "llama-70b")
    assert result.exit_code == 1
    assert "unknown model 'llama-70b'" in result.stderr
    assert "qwen2.5-coder-1.5b" in result.stderr
    assert "Traceback" not in result.output


def test_hash_mismatch_exits_1_and_installs_nothing(cli, fake_model, monkeypatch):
    bad = fake_spec("apflowclifake", sha="f" * 64)
    monkeypatch.setitem(local_models.CATALOGUE, bad.name, bad)
    result = cli("models", "install", "fake-model")
    assert result.exit_code == 1
    assert "checksum mismatch" in result.stderr
    assert not fake_model.exists()
    assert not list(fake_model.parent.glob("*.part"))


def test_python_dash_m_apflow_models_list_works(tmp_path):
    proc = run_module("models", "list", "--json", env={"APFLOW_MODELS_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    names = [m["name"] for m in json.loads(proc.stdout)]
    assert names[:2] == ["qwen2.5-coder-1.5b", "smollm2-135m"]
