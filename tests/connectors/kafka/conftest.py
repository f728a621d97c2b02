"""A real Kafka broker for the Kafka tests: one per pytest process (each xdist worker starts
its own on free 127.0.0.1 ports, so workers never share state), started on first use and
stopped by pid at the end of the session. Tests create their own uniquely named topics
(:func:`new_topic`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from connectors.kafka import broker as kafka_broker


@pytest.fixture(scope="session")
def kafka() -> Iterator[kafka_broker.Broker]:
    running = kafka_broker.start(timeout=90)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def bootstrap(kafka: kafka_broker.Broker) -> str:
    return kafka.bootstrap


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def new_topic(bootstrap: str):
    """``new_topic(partitions=1) -> name``: create a uniquely named topic."""
    from tests.connectors.kafka.kafka_util import create_topic

    def make(partitions: int = 1, prefix: str = "t") -> str:
        name = unique(prefix)
        create_topic(bootstrap, name, partitions)
        return name

    return make


def _kafka_path(request, monkeypatch, module: str) -> Iterator[str]:
    """Run a test on the native module (the default) and on confluent-kafka
    (``FLOWSQL_KAFKA_NATIVE=0``); yields which."""
    from connectors.kafka import native

    if request.param == "confluent":
        monkeypatch.setenv("FLOWSQL_KAFKA_NATIVE", "0")
    else:
        monkeypatch.delenv("FLOWSQL_KAFKA_NATIVE", raising=False)
    native.module.cache_clear()
    if request.param == "native" and native.module(module) is None:
        pytest.fail(f"the native {module} is not built (make venv)")
    yield request.param
    native.module.cache_clear()


@pytest.fixture(params=["native", "confluent"])
def producer_path(request, monkeypatch) -> Iterator[str]:
    """The ``kafka`` sink's send path under test: the C producer or confluent-kafka's."""
    yield from _kafka_path(request, monkeypatch, "_producer")


@pytest.fixture(params=["native", "confluent"])
def kafka_data_path(request, monkeypatch) -> Iterator[str]:
    """The ``kafka`` reader's data path under test: the C consumer (the default) or the
    confluent-kafka one; readers are created in-process."""
    yield from _kafka_path(request, monkeypatch, "_consumer")
