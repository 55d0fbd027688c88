PYTHON ?= python3
PIP = $(PYTHON) -m pip
STAMP = .apflow/.installed-dev

.PHONY: demo test install install-dev lint format bench

# Installs apflow (idempotent) and runs the demo tree.
demo: install
	$(PYTHON) -m apflow demo

# Installs the dev extras (idempotent) and runs the whole test suite.
test: install-dev
	$(PYTHON) -m pytest -q

install:
	$(PIP) install -q -e .

install-dev: $(STAMP)

$(STAMP): pyproject.toml
	$(PIP) install -q -e '.[dev]'
	@mkdir -p .apflow && touch $(STAMP)

lint:
	$(PYTHON) -m ruff check src tests benchmarks
	$(PYTHON) -m ruff format --check src tests benchmarks

format:
	$(PYTHON) -m ruff format src tests benchmarks
	$(PYTHON) -m ruff check --fix src tests benchmarks

bench: install
	$(PYTHON) benchmarks/engine.py --shape wide --n 10000
