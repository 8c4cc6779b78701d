# Patron: `make run` and `make test` each do all their own set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUM = $(shell cat $(1) | cksum | cut -d' ' -f1)
# One stamp per layer: the pinned installer, the runtime lock (make run), the dev lock (make test).
BOOT := $(VENV)/.boot-$(call SUM,requirements-bootstrap.lock)
RUNTIME := $(VENV)/.runtime-$(call SUM,requirements-bootstrap.lock requirements.lock pyproject.toml)
DEV := $(VENV)/.dev-$(call SUM,requirements-bootstrap.lock requirements-dev.lock pyproject.toml)
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes

.DEFAULT_GOAL := help
.PHONY: help install install-dev run migrate test test-fast lint typecheck bench pictures clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# The interpreter's bundled pip only installs the pinned pip and setuptools (by hash); the
# locks are installed by that known-good pip.
$(BOOT): requirements-bootstrap.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Patron needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --no-deps -r requirements-bootstrap.lock
	rm -f $(VENV)/.boot-* $(VENV)/.runtime-* $(VENV)/.dev-*
	touch $@

$(RUNTIME): $(BOOT) requirements.lock pyproject.toml
	$(PIP) -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.runtime-*
	touch $@

$(DEV): $(RUNTIME) requirements-dev.lock
	$(PIP) -r requirements-dev.lock
	rm -f $(VENV)/.dev-*
	touch $@

install: $(RUNTIME) ## Create .venv with the locked runtime dependencies

install-dev: $(DEV) ## Add the locked test and lint tools to .venv

migrate: install ## Apply database migrations (PATRON_DATABASE_URL)
	$(BIN)/patron migrate

run: install ## Migrate and serve the API on PATRON_HOST:PATRON_PORT (default 127.0.0.1:8000)
	$(BIN)/patron run

test: install-dev ## Lint, type-check, then every test: SQLite and a PostgreSQL server the tests start
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

lint: install-dev ## Lint and check formatting
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install-dev ## Type-check src/ with mypy (strict)
	$(BIN)/mypy

bench: install-dev ## Throughput and latency on SQLite and PostgreSQL: API, webhooks, imports (prints figures)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/events.py $(EVENTS_ARGS)
	$(BIN)/python bench/imports.py $(IMPORT_ARGS)

pictures: install-dev ## Retake the README's console pictures (docs/images/) in headless Chromium
	PATRON_README_PICTURES=docs/images $(BIN)/python -m pytest -q -p no:randomly tests/console/test_journey.py

clean: ## Remove the virtualenv, caches and the embedded database
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage var
