# FlowSQL developer entry points. `make demo` and `make test` are the README's contract:
# both create .venv when missing and install what they need into it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test lint venv install clean bench-batch browser pg-clients

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

install: venv

# The demo runs in a fresh scratch directory (its catalog and output files live there).
demo: $(STAMP)
	@dir=$$(mktemp -d /tmp/flowsql-demo.XXXXXX); echo "demo workspace: $$dir"; \
	cd $$dir && FLOWSQL_HOME=$$dir/home $(CURDIR)/$(BIN)/flowsql shell -f $(CURDIR)/examples/quickstart.sql

lint: $(STAMP)
	$(BIN)/ruff check flowsql catalog connectors tests bench

# Chromium and its driver (Debian packages) for the dashboard's browser test.
browser:
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium chromium-driver)

# psql (Debian's postgresql-client) and pgjdbc (Maven Central, cached in .cache/) for the
# Postgres wire protocol tests.
PGJDBC_VERSION := 42.7.14
PGJDBC_JAR := .cache/pgjdbc/postgresql-$(PGJDBC_VERSION).jar

pg-clients: $(PGJDBC_JAR)
	command -v psql >/dev/null || (apt-get update -q && apt-get install -y -q postgresql-client)

$(PGJDBC_JAR):
	mvn -q dependency:copy -Dartifact=org.postgresql:postgresql:$(PGJDBC_VERSION) \
		-DoutputDirectory=$(CURDIR)/.cache/pgjdbc

test: lint browser pg-clients
	$(BIN)/python -m pytest -q -n 2 tests

bench-batch: $(STAMP)
	$(BIN)/python bench/batch.py

clean:
	rm -rf $(VENV) build *.egg-info
