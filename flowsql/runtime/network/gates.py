"""GateRegistry: the input gates of one process, keyed by a string gate key.

Contract:
- Keys are task ids such as ``"abc123/2.0"`` or ``"abc123/result"``; a job's gates share the
  job id as prefix, so :meth:`GateRegistry.remove_prefix` drops all gates of a job.
- :meth:`GateRegistry.get` waits for the key to be registered, because a remote producer may
  connect before the consumer task is deployed; after ``timeout`` seconds it raises
  :class:`~flowsql.errors.ExecutionError` naming the key.
- All methods are thread-safe.
"""

from __future__ import annotations

import threading

from flowsql.errors import ExecutionError
from flowsql.runtime.taskmanager.channels import InputGate


class GateRegistry:
    def __init__(self) -> None:
        self._gates: dict[str, InputGate] = {}
        self._cond = threading.Condition()

    def register(self, key: str, gate: InputGate) -> None:
        """Add a gate; raises ValueError if another gate is registered under ``key``."""
        with self._cond:
            existing = self._gates.get(key)
            if existing is not None and existing is not gate:
                raise ValueError(f"input gate {key!r} is already registered")
            self._gates[key] = gate
            self._cond.notify_all()

    def get(self, key: str, timeout: float) -> InputGate:
        """The gate under ``key``, waiting up to ``timeout`` seconds for it to be registered."""
        with self._cond:
            if not self._cond.wait_for(lambda: key in self._gates, timeout):
                raise ExecutionError(
                    f"input gate {key!r} was not registered within {timeout:g} s",
                    hint="the consumer task was not deployed on this TaskManager or already ended",
                )
            return self._gates[key]

    def remove(self, key: str) -> None:
        """Forget ``key`` (no error if it is absent)."""
        with self._cond:
            self._gates.pop(key, None)

    def remove_prefix(self, prefix: str) -> None:
        """Forget every key that starts with ``prefix`` (e.g. all gates of one job)."""
        with self._cond:
            for key in [k for k in self._gates if k.startswith(prefix)]:
                del self._gates[key]

    def keys(self) -> list[str]:
        with self._cond:
            return sorted(self._gates)
