# FlowSQL developer entry points. `make demo` and `make test` are the README's contract:
# both create .venv when missing and install what they need into it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test lint venv install clean bench-batch

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

install: venv

demo: $(STAMP)
	FLOWSQL_HOME=$${FLOWSQL_HOME:-$$(mktemp -d)} $(BIN)/flowsql shell -f examples/quickstart.sql

lint: $(STAMP)
	$(BIN)/ruff check flowsql catalog connectors tests bench

test: lint
	$(BIN)/python -m pytest -q -n 2 tests

bench-batch: $(STAMP)
	$(BIN)/python bench/batch.py

clean:
	rm -rf $(VENV) build *.egg-info
