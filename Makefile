# FlowSQL developer entry points. `make demo` and `make test` are the README's contract:
# both create .venv when missing and install what they need into it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test test-deep lint venv install clean bench-batch browser jars pg-clients kafka

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml setup.py $(wildcard connectors/*/native/*.c connectors/*/native/*.h) | $(BIN)/python
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

# JDBC drivers for the gateway's client tests, from Maven Central into a git-ignored cache:
# Flink's own (and the slf4j API it expects on the class path) for the REST API, pgjdbc for
# the Postgres wire protocol.
JARS_DIR := .cache/jars
JARS := org.apache.flink:flink-sql-jdbc-driver-bundle:2.3.0 org.slf4j:slf4j-api:1.7.36 \
        org.slf4j:slf4j-nop:1.7.36 org.postgresql:postgresql:42.7.14
$(JARS_DIR)/.installed: Makefile
	mkdir -p $(JARS_DIR)
	for a in $(JARS); do mvn -q -B dependency:copy -Dartifact=$$a -DoutputDirectory=$(JARS_DIR) || exit 1; done
	touch $@

jars: $(JARS_DIR)/.installed

# psql (Debian's postgresql-client) for the Postgres wire protocol tests.
pg-clients:
	command -v psql >/dev/null || (apt-get update -q && apt-get install -y -q postgresql-client)


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

# Three xdist workers on two cores: many tests wait on subprocesses (brokers, TaskManagers,
# the gateway), so a third worker cuts the wall time (14:40 → 11:51 on this machine).
# Property tests draw 0.4 of their written example counts here (tests/examples.py), so the
# gate CI runs stays well under 15 minutes; `make test-deep` draws twice the written counts.
test: lint browser jars pg-clients kafka
	FLOWSQL_TEST_EXAMPLES=$${FLOWSQL_TEST_EXAMPLES:-0.4} \
	    $(BIN)/python -m pytest -q -n 3 --dist worksteal --durations=25 tests

test-deep: lint browser jars pg-clients kafka
	FLOWSQL_TEST_EXAMPLES=2 $(BIN)/python -m pytest -q -n 3 --dist worksteal --durations=25 tests

bench-batch: $(STAMP)
	$(BIN)/python bench/batch.py

clean:
	rm -rf $(VENV) build *.egg-info
