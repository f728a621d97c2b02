"""The C extension modules (setup.py) are built in the development install and bind
librdkafka: their builds are optional for users, so this is what keeps a broken build from
passing silently in CI (the callers would fall back to their slower paths)."""

import importlib

import pytest

from connectors.kafka import native


@pytest.mark.parametrize("name", ["_consumer", "_producer"])
def test_kafka_native_module_binds_librdkafka(name, monkeypatch):
    monkeypatch.delenv("FLOWSQL_KAFKA_NATIVE", raising=False)
    native.module.cache_clear()
    mod = native.module(name)
    assert mod is not None, f"connectors.kafka.native.{name} is not built or cannot bind"
    assert mod.bind(native.librdkafka_path()).startswith("2.")


@pytest.mark.parametrize("name", ["_jsonscan", "_jsonwrite", "_csvscan"])
def test_format_modules_built(name):
    importlib.import_module(f"connectors.formats.native.{name}")


def test_switch_off(monkeypatch):
    monkeypatch.setenv("FLOWSQL_KAFKA_NATIVE", "0")
    native.module.cache_clear()
    try:
        assert native.module("_consumer") is None
    finally:
        native.module.cache_clear()
