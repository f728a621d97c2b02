"""GateRegistry: waiting for a gate, timeout naming the key, removal by key and prefix."""

from __future__ import annotations

import threading

import pytest

from flowsql.errors import ExecutionError
from flowsql.runtime.network.gates import GateRegistry
from flowsql.runtime.taskmanager.channels import InProcessInputGate


def test_get_waits_for_a_later_registration():
    registry = GateRegistry()
    gate = InProcessInputGate("j/1.0", 1)
    got: list[object] = []
    t = threading.Thread(target=lambda: got.append(registry.get("j/1.0", timeout=10)))
    t.start()
    registry.register("j/1.0", gate)
    t.join(10)
    assert got == [gate]


def test_get_times_out_naming_the_key():
    with pytest.raises(ExecutionError, match="'j/9.9'"):
        GateRegistry().get("j/9.9", timeout=0.01)


def test_remove_and_remove_prefix():
    registry = GateRegistry()
    for key in ("a/1.0", "a/2.0", "a/result", "b/1.0"):
        registry.register(key, InProcessInputGate(key, 1))
    registry.remove("a/2.0")
    registry.remove("missing")
    assert registry.keys() == ["a/1.0", "a/result", "b/1.0"]
    registry.remove_prefix("a/")
    assert registry.keys() == ["b/1.0"]


def test_a_key_holds_one_gate():
    registry = GateRegistry()
    gate = InProcessInputGate("k", 1)
    registry.register("k", gate)
    registry.register("k", gate)
    with pytest.raises(ValueError):
        registry.register("k", InProcessInputGate("k", 1))
