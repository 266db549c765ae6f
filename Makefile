# Cat Identifier: `make run` serves the product, `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
# One pytest worker per core, at most 4 (each starts its own embedded servers); the browser tests
# run afterwards on their own, so a busy second worker never slows a page they wait for.
PARALLEL ?= -n auto --maxprocesses 4

.PHONY: help install install-dev run test test-fast screenshots bench fix lint demo

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is needed, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(RUN_STAMP) $@

install: $(RUN_STAMP) ## Create .venv and install what the product needs

install-dev: $(DEV_STAMP) ## Create .venv and install the product and its test tools

run: install ## Install, start the databases, add demo data if empty, serve both apps and the API
	$(BIN)/python -m jobs.run

test: install-dev ## Install, lint and run the whole test suite (browser and slow tests included)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PARALLEL) -m "not browser"
	$(BIN)/python -m pytest -m browser

test-fast: install-dev ## The test suite without browser and slow tests
	$(BIN)/python -m pytest $(PARALLEL) -m "not browser and not slow"

screenshots: install-dev ## Refresh the README's pictures in docs/ from the browser tests
	REFRESH_DOCS_SCREENSHOTS=1 $(BIN)/python -m pytest -m browser -k "bulk_label or upload_a_demo_cat"

bench: install-dev ## Run the benchmarks and print their table (also data/benchmarks.json)
	$(BIN)/python -m jobs.bench

fix: install-dev ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: install ## Add 300 demo images to the database
	$(BIN)/python -m jobs.demo --images 300
