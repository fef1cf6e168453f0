# povanalysis — `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LAB_STAMP := $(VENV)/.lab-installed
TEST_DATA := tests/_artifacts/data
export PYTHONHASHSEED := 0

.DEFAULT_GOAL := help
.PHONY: help setup data demo test lint lab bench clean

## Show this help
help:
	@awk '/^## /{doc=substr($$0,4)} /^[a-zA-Z_-]+:/{if(doc){split($$1,t,":"); printf "  make %-10s %s\n", t[1], doc; doc=""}}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m povanalysis.jupyter_env >/dev/null
	touch $(STAMP)

$(LAB_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[lab]'
	touch $(LAB_STAMP)

## Create .venv, install the package with its test dependencies, its kernel and export settings
setup: $(STAMP)

## Generate the full-scale synthetic demo data into data/raw (if missing)
data: $(STAMP)
	$(PY) -m povanalysis data

## Set up, generate the demo data if missing, and run the main job (processed tables and reports)
demo: $(STAMP)
	$(PY) -m povanalysis demo

## Set up and run the whole suite: pytest, doctests, and nbval over every notebook
test: $(STAMP)
	$(PY) -m povanalysis data --scale 0.02 --seed 20240 --out $(TEST_DATA)
	POVANALYSIS_DATA_DIR=$(CURDIR)/$(TEST_DATA) $(PY) -m pytest -q -rs
	POVANALYSIS_DATA_DIR=$(CURDIR)/$(TEST_DATA) $(PY) -m pytest -q -rs --nbval-lax notebooks

## Lint and check formatting (ruff), as CI does before the tests
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Install JupyterLab (the lab extra) and open it on notebooks/ with the project's environment as the kernel
lab: $(LAB_STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

## Run the benchmarks in bench/ (prints ratios measured side by side)
bench: $(STAMP)
	$(PY) bench/run.py

## Remove the environment and the generated files (never the input data in data/raw)
clean:
	rm -rf $(VENV) data/processed/*.parquet reports tests/_artifacts build dist povanalysis.egg-info
