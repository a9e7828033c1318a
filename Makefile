# Zhangyin: `make run` starts the demo, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint typecheck pytest bench clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

run: $(INSTALLED)
	mkdir -p var
	ZHANGYIN_DEMO=1 $(BIN)/python -m zhangyin migrate
	ZHANGYIN_DEMO=1 $(BIN)/python -m zhangyin demo-data
	ZHANGYIN_DEMO=1 PORT=$(PORT) $(BIN)/python -m zhangyin serve

lint: $(INSTALLED)
	$(BIN)/ruff check zhangyin tests bench
	$(BIN)/ruff format --check zhangyin tests bench

typecheck: $(INSTALLED)
	$(BIN)/mypy

pytest: $(INSTALLED)
	$(BIN)/pytest -n 2 --dist loadfile

test: lint typecheck pytest

bench: $(INSTALLED)
	$(BIN)/python bench/ledger.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
