"""Placeholder GateRegistry (replaced by the network branch)."""

from __future__ import annotations

import threading

from flowsql.errors import ExecutionError
from flowsql.runtime.taskmanager.channels import InputGate


class GateRegistry:
    def __init__(self) -> None:
        self._gates: dict[str, InputGate] = {}
        self._cond = threading.Condition()

    def register(self, key: str, gate: InputGate) -> None:
        with self._cond:
            self._gates[key] = gate
            self._cond.notify_all()

    def get(self, key: str, timeout: float) -> InputGate:
        with self._cond:
            if not self._cond.wait_for(lambda: key in self._gates, timeout):
                raise ExecutionError(f"no input gate '{key}' appeared within {timeout} s")
            return self._gates[key]

    def remove(self, key: str) -> None:
        with self._cond:
            self._gates.pop(key, None)

    def remove_prefix(self, prefix: str) -> None:
        with self._cond:
            for k in [k for k in self._gates if k.startswith(prefix)]:
                del self._gates[k]

    def keys(self) -> list[str]:
        with self._cond:
            return sorted(self._gates)
