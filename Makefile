# FlowSQL developer entry points. `make demo` and `make test` are the README's contract:
# both create .venv when missing and install what they need into it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test lint venv install clean bench-batch browser kafka

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

# The jars of a local Kafka broker (Maven Central) for the Kafka tests and `flowsql dev kafka`,
# cached in an ignored folder; refetched when the pom changes.
KAFKA_LIB   := .cache/kafka/lib
KAFKA_STAMP := $(KAFKA_LIB)/.fetched

$(KAFKA_STAMP): connectors/kafka/broker-pom.xml
	rm -rf $(KAFKA_LIB)
	mvn -q -B -f connectors/kafka/broker-pom.xml dependency:copy-dependencies \
	    -DoutputDirectory=$(CURDIR)/$(KAFKA_LIB) -DincludeScope=runtime
	touch $@

kafka: $(KAFKA_STAMP)

test: lint browser kafka
	$(BIN)/python -m pytest -q -n 2 tests

bench-batch: $(STAMP)
	$(BIN)/python bench/batch.py

clean:
	rm -rf $(VENV) build *.egg-info
