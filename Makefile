# povanalysis — `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
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
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (povanalysis)" >/dev/null
	touch $(STAMP)

## Create .venv and install the package with its test dependencies
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

## Open JupyterLab on notebooks/ with the project's environment as the kernel
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

## Run the benchmarks in bench/ (prints ratios measured side by side)
bench: $(STAMP)
	$(PY) bench/run.py

## Remove the environment and every generated file
clean:
	rm -rf $(VENV) data/processed/*.parquet data/raw/*.parquet reports tests/_artifacts
