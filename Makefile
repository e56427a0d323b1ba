# riskengine — the only commands a user needs: `make run` and `make test`.
SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint venv clean postgres frontend frontend-test chromium golden

venv: $(STAMP)

$(STAMP): pyproject.toml
	@# Debian ships venv separately (python3-venv): install it when we can, as root.
	@echo "riskengine: creating $(VENV) and installing the Python packages (first run: about 1-2 minutes)"
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); \
	  else echo "python3 -m venv failed: install python3-venv (apt-get install python3-venv)"; exit 1; fi; }
	@$(BIN)/pip install --quiet --upgrade pip
	@$(BIN)/pip install --progress-bar off -e '.[dev]' | grep -E '^(Collecting|Successfully installed)' \
	  | sed -e 's/^Collecting /  collecting /' -e 's/^Successfully installed /  installed: /' \
	  | cut -c1-120; test $${PIPESTATUS[0]} -eq 0
	@touch $(STAMP)
	@echo "riskengine: Python packages installed"

# The demo: bundled history imported into an embedded SQLite store, the simulated feed and
# ingestion running, a demo book, the API and the page on http://127.0.0.1:8000/ (Ctrl-C stops;
# make run PORT=8080 to serve on another port).
run: $(STAMP) frontend
	$(BIN)/riskengine demo $(if $(PORT),--port $(PORT))

# The page (frontend/: Vite + React + TypeScript + Recharts), built into the package's
# api/static/ so the API serves it and the wheel carries it. npm installs from the lock file;
# the client's types are generated from the API's OpenAPI schema, dumped from the app and
# rewritten only when it changed; each step runs only when its inputs changed.
NPM        ?= npm
FRONT      := frontend
NODE_STAMP := $(FRONT)/node_modules/.installed
OPENAPI    := $(FRONT)/openapi.json
SCHEMA_TS  := $(FRONT)/src/api/schema.d.ts
PAGE       := src/riskengine/api/static/index.html
PAGE_SRC   := $(shell find $(FRONT)/src $(FRONT)/index.html $(FRONT)/vite.config.ts \
                $(FRONT)/tsconfig.json -type f ! -name schema.d.ts ! -name '*.test.ts' 2>/dev/null)

frontend: $(PAGE)

$(NODE_STAMP): $(FRONT)/package.json $(FRONT)/package-lock.json
	@command -v $(NPM) >/dev/null || { echo "npm not found: the page needs Node.js 20.19 or later \
	  with npm (https://nodejs.org/)"; exit 1; }
	cd $(FRONT) && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

$(FRONT)/.openapi.stamp: $(STAMP) $(NODE_STAMP) $(wildcard src/riskengine/api/*.py) \
                         $(FRONT)/scripts/openapi.py
	$(BIN)/python $(FRONT)/scripts/openapi.py $(OPENAPI)
	@if [ ! -e $(SCHEMA_TS) ] || [ $(OPENAPI) -nt $(SCHEMA_TS) ]; then \
	  cd $(FRONT) && $(NPM) run --silent types; fi
	touch $@

$(SCHEMA_TS): $(FRONT)/.openapi.stamp ;

$(PAGE): $(NODE_STAMP) $(SCHEMA_TS) $(PAGE_SRC)
	cd $(FRONT) && $(NPM) run --silent build

# Type check, formatting and the unit tests of the page's data transforms (vitest).
frontend-test: $(NODE_STAMP) $(SCHEMA_TS)
	cd $(FRONT) && $(NPM) run --silent check && $(NPM) test --silent

# The browser tests (tests/e2e) drive Debian's Chromium with Playwright (never a downloaded
# browser); here we only make sure it is installed.
chromium:
	@if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Chromium missing (the browser tests drive it): apt-get install chromium"; exit 1; fi

# Style and format (ruff) on everything; types (mypy, check_untyped_defs: pyproject.toml) on src/.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy

# The integration tests start their own PostgreSQL server (as the postgres user, on a free port
# in a temporary directory); here we only make sure Debian's server binaries are installed.
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else echo "PostgreSQL server binaries missing: apt-get install postgresql"; exit 1; fi

test: $(STAMP) lint postgres frontend frontend-test chromium
	$(BIN)/python -m pytest

# Every benchmark prints its figures with ratios to baselines measured in the same run; the
# latest figures are recorded in docs/benchmarks.md. About 50 minutes on 2 cores (the scaling
# grid, benchmarks/scaling.py, is about 30 of them).
bench: $(STAMP) postgres
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/variants.py
	$(BIN)/python benchmarks/variance_reduction.py
	$(BIN)/python benchmarks/backtest.py
	$(BIN)/python benchmarks/decomposition.py
	$(BIN)/python benchmarks/frtb.py
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/loader.py
	$(BIN)/python benchmarks/scaling.py
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/store_write.py
	$(BIN)/python benchmarks/api.py
	$(BIN)/python benchmarks/scale.py

# The reference corpus of reports (tests/golden/corpus.py) that the tests compare at relative
# 1e-12: regenerate it only for a change meant to move numbers, and say which moved and why.
golden: $(STAMP)
	$(BIN)/python tests/golden/corpus.py --write

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache test-artifacts \
	  $(FRONT)/node_modules $(OPENAPI) $(FRONT)/.openapi.stamp $(SCHEMA_TS) src/riskengine/api/static
