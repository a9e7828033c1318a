# Zhangyin: `make run` starts the demo, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint typecheck pytest bench soak clean frontend frontend-check e2e screenshots

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

# The customer app (frontend/app), built into zhangyin/web/dist/app; rebuilt only when a source changed.
APP_DIR := frontend/app
APP_BUILT := zhangyin/web/dist/app/index.html
APP_DEPS := $(APP_DIR)/node_modules/.package-lock.json
APP_SOURCES := $(shell find $(APP_DIR)/src $(APP_DIR)/public $(APP_DIR)/scripts -type f 2>/dev/null) \
	$(wildcard $(APP_DIR)/*.ts $(APP_DIR)/*.js $(APP_DIR)/*.json $(APP_DIR)/index.html)
CHROMIUM := /usr/bin/chromium

$(APP_DEPS): $(APP_DIR)/package-lock.json
	cd $(APP_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $(APP_DEPS)

$(APP_BUILT): $(APP_DEPS) $(APP_SOURCES)
	cd $(APP_DIR) && npm run --silent build

# The operations console (frontend/console), built into zhangyin/web/dist/console.
CONSOLE_DIR := frontend/console
CONSOLE_BUILT := zhangyin/web/dist/console/index.html
CONSOLE_SOURCES := $(shell find $(CONSOLE_DIR)/src -type f 2>/dev/null) \
	$(wildcard $(CONSOLE_DIR)/*.ts $(CONSOLE_DIR)/*.json $(CONSOLE_DIR)/index.html)

$(CONSOLE_BUILT): $(CONSOLE_SOURCES)
	cd $(CONSOLE_DIR) && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

frontend: $(APP_BUILT) $(CONSOLE_BUILT)
# Whatever serves or tests the app (run, pytest, e2e) serves the console too: build it as well.
$(APP_BUILT): | $(CONSOLE_BUILT)

frontend-check: $(APP_DEPS)
	cd $(APP_DIR) && npx eslint . && npx prettier --check "src/**/*.{ts,vue,css}" "tests/**/*.ts" "*.{ts,js}" \
		&& npx vue-tsc --noEmit -p tsconfig.json && npx vitest run

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

e2e: $(INSTALLED) $(APP_BUILT) $(CHROMIUM)
	$(BIN)/pytest tests/e2e tests/test_web.py -p no:xdist -q

screenshots: $(INSTALLED) $(APP_BUILT) $(CHROMIUM)
	fc-list :lang=zh | grep -q . || (apt-get update -qq && apt-get install -y -qq fonts-wqy-zenhei)
	$(BIN)/python -m tests.e2e.screenshots docs/screenshots

run: $(INSTALLED) $(APP_BUILT)
	mkdir -p var
	ZHANGYIN_DEMO=1 $(BIN)/python -m zhangyin migrate
	ZHANGYIN_DEMO=1 $(BIN)/python -m zhangyin demo-data
	ZHANGYIN_DEMO=1 PORT=$(PORT) $(BIN)/python -m zhangyin serve

lint: $(INSTALLED)
	$(BIN)/ruff check zhangyin tests bench
	$(BIN)/ruff format --check zhangyin tests bench

typecheck: $(INSTALLED)
	$(BIN)/mypy

pytest: $(INSTALLED) $(APP_BUILT) $(CHROMIUM)
	$(BIN)/pytest -n 2 --dist loadfile

test: lint typecheck frontend-check pytest

bench: $(INSTALLED)
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/load.py --seconds 60

# Memory must not grow under a steady load (10 minutes unless SOAK_SECONDS says otherwise).
soak: $(INSTALLED)
	$(BIN)/python bench/load.py --soak --seconds $${SOAK_SECONDS:-600}

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
