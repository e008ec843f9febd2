# The project's one task runner. `make run` serves the API; `make test` is the whole check, locally and in CI.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.NOTPARALLEL:

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# Marks an install up to date with pyproject.toml.
STAMP := $(VENV)/.installed

.PHONY: help venv run lint pytest test clean

help:
	@echo "make venv    create $(VENV) and install the project with its dev tools"
	@echo "make run     migrate, load the seed and serve the API on http://$(HOST):$(PORT)"
	@echo "make lint    ruff, ruff format --check, mypy, alembic check"
	@echo "make test    lint, then pytest on SQLite and PostgreSQL (PYTEST_ARGS=... passes options)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

run: venv
	$(BIN)/cadre-data migrate
	$(BIN)/cadre-data seed
	exec $(BIN)/cadre-data serve --host $(HOST) --port $(PORT)

# `alembic check` compares the models with a database migrated to head: a temporary SQLite file.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	export DATABASE_URL="sqlite:///$$tmp/check.db" LOADER_DATABASE_URL="sqlite:///$$tmp/check.db"; \
	$(BIN)/cadre-data migrate; \
	$(BIN)/alembic check

# Without TEST_POSTGRES_URL, and with PostgreSQL's server binaries installed, the PostgreSQL tests run
# against a throwaway cluster that is always stopped and removed afterwards.
pytest: venv
	if [ -z "$${TEST_POSTGRES_URL:-}" ] && compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then \
		pgdir=$$(mktemp -d /tmp/cadre-pg.XXXXXX); \
		trap 'scripts/pg-throwaway.sh stop "$$pgdir"' EXIT; \
		trap 'exit 130' INT; trap 'exit 143' TERM; \
		TEST_POSTGRES_URL=$$(scripts/pg-throwaway.sh start "$$pgdir"); \
		export TEST_POSTGRES_URL; \
		echo "PostgreSQL tests on a throwaway cluster: $$TEST_POSTGRES_URL"; \
		$(BIN)/pytest $(PYTEST_ARGS); \
	else \
		$(BIN)/pytest $(PYTEST_ARGS); \
	fi

test: lint pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
