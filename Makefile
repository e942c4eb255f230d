# HRL-SARP: `make demo` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME ?= $(CURDIR)/.prefect
export DO_NOT_TRACK := 1
# `make up`: local Prefect server + worker + MLflow UI on 127.0.0.1 (ports overridable: make up PREFECT_PORT=4300).
PREFECT_PORT ?= 4200
MLFLOW_PORT ?= 5000

.PHONY: install demo test test-fast lint format bench up down clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# CPU build of torch from local disk first (pip finds it there; uv does not look), so no dependency can pull a
	# CUDA build; then uv resolves and installs the rest.
	$(BIN)/python -m pip install -q torch==2.13.0 uv
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev,yfinance,dask,realdata]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/hrl-sarp demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --timeout 1800 tests

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow" tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

up: $(STAMP)
	PREFECT_PORT=$(PREFECT_PORT) MLFLOW_PORT=$(MLFLOW_PORT) BIN=$(CURDIR)/$(BIN) scripts/stack_up.sh

down:
	scripts/stack_down.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
