"""The registry: built-ins, unknown and missing connectors, planned ones."""

from __future__ import annotations

import pytest

from connectors.registry import available_connectors, factory_for, get_factory
from flowsql.errors import ConnectorError, NotSupportedError


def test_builtins_are_available():
    assert {"filesystem", "datagen", "print", "blackhole"} <= set(available_connectors())
    for name in ("filesystem", "datagen", "print", "blackhole"):
        assert get_factory(name).identifier == name


def test_unknown_connector_lists_available():
    with pytest.raises(ConnectorError) as e:
        get_factory("filesystm")
    assert str(e.value) == "Unknown connector 'filesystm'"
    assert "Did you mean 'filesystem'?" in e.value.hint
    assert "blackhole, datagen, filesystem, kafka, nexmark, print" in e.value.hint


def test_missing_connector_option(make_table):
    with pytest.raises(ConnectorError) as e:
        factory_for(make_table([("a", "INT")], {"path": "/x"}))
    assert "has no 'connector' option" in str(e.value)


def test_planned_connector_is_not_supported_yet(monkeypatch):
    import connectors.registry as registry

    monkeypatch.setattr(registry, "PLANNED", frozenset({"jdbc"}))
    with pytest.raises(NotSupportedError, match="not supported yet: connector 'jdbc'"):
        get_factory("jdbc")
    assert get_factory("upsert-kafka").identifier == "upsert-kafka"


def test_source_only_and_sink_only_connectors(make_table):
    t = make_table([("a", "INT")], {"connector": "blackhole"})
    with pytest.raises(ConnectorError, match="cannot be read as a source"):
        get_factory("blackhole").batch_scan(t, {})
    with pytest.raises(ConnectorError, match="cannot be written as a sink"):
        get_factory("datagen").batch_sink(t, {})
