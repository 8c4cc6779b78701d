# Patron: `make run` and `make test` each do all their own set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.lock pyproject.toml | cksum | cut -d' ' -f1)

.DEFAULT_GOAL := help
.PHONY: help install run migrate test test-fast lint typecheck bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Patron needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP) ## Create .venv with the locked dependencies

migrate: install ## Apply database migrations (PATRON_DATABASE_URL)
	$(BIN)/patron migrate

run: install ## Migrate and serve the API on PATRON_HOST:PATRON_PORT (default 127.0.0.1:8000)
	$(BIN)/patron run

test: install ## Lint, type-check, then every test: SQLite and a PostgreSQL server the tests start
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

lint: install ## Lint and check formatting
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install ## Type-check src/ with mypy (strict)
	$(BIN)/mypy

bench: install ## Throughput and latency on SQLite and PostgreSQL, API and webhooks (prints figures)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/events.py $(EVENTS_ARGS)

clean: ## Remove the virtualenv, caches and the embedded database
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage var
