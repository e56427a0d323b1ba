# riskengine — the only commands a user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint venv clean postgres

venv: $(STAMP)

$(STAMP): pyproject.toml
	@# Debian ships venv separately (python3-venv): install it when we can, as root.
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); \
	  else echo "python3 -m venv failed: install python3-venv (apt-get install python3-venv)"; exit 1; fi; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo: bundled history imported into an embedded SQLite store, the simulated feed and
# ingestion running, a demo book, the API and the page on http://127.0.0.1:8000/ (Ctrl-C stops).
run: $(STAMP)
	$(BIN)/riskengine demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

# The integration tests start their own PostgreSQL server (as the postgres user, on a free port
# in a temporary directory); here we only make sure Debian's server binaries are installed.
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else echo "PostgreSQL server binaries missing: apt-get install postgresql"; exit 1; fi

test: $(STAMP) lint postgres
	$(BIN)/python -m pytest

# Every benchmark prints its figures with ratios to baselines measured in the same run; the
# latest figures are recorded in docs/benchmarks.md. About 6-7 minutes on 2 cores.
bench: $(STAMP) postgres
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/variants.py
	$(BIN)/python benchmarks/variance_reduction.py
	$(BIN)/python benchmarks/backtest.py
	$(BIN)/python benchmarks/decomposition.py
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
