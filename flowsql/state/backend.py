"""The keyed-state backend interface: named Arrow tables, snapshotted and restored whole.

Contract:
- An operator keeps its keyed state (accumulator rows, distinct sets, open sessions, ...) as
  named :class:`pyarrow.Table` values: ``put(name, table)``, ``get(name)``, ``delete(name)``.
  Tables are immutable; an update is a ``put`` of a new table (Arrow-native, no per-row API).
- ``snapshot()`` returns ``{name: table}`` for every stored table — exactly what the
  operator's ``snapshot(checkpoint_id)`` hands to the checkpoint coordinator.
- ``restore(state, key_group_range=None, key_columns=None)`` replaces the whole content.
  With a key-group range (rescaling), rows of tables that have the key columns are kept only
  when their key group (:func:`flowsql.state.keygroups.key_groups`) falls in the range.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence

import pyarrow as pa


class StateBackend(abc.ABC):
    """Named Arrow tables of one operator subtask."""

    @abc.abstractmethod
    def get(self, name: str) -> pa.Table | None: ...

    @abc.abstractmethod
    def put(self, name: str, table: pa.Table) -> None: ...

    @abc.abstractmethod
    def delete(self, name: str) -> None: ...

    @abc.abstractmethod
    def names(self) -> list[str]: ...

    @abc.abstractmethod
    def snapshot(self) -> dict[str, pa.Table]: ...

    @abc.abstractmethod
    def restore(
        self,
        state: Mapping[str, pa.Table],
        *,
        key_group_range: tuple[int, int] | None = None,
        key_columns: Sequence[str] | None = None,
        max_parallelism: int | None = None,
    ) -> None: ...

    def num_rows(self) -> int:
        """Total rows held (a cheap size metric)."""
        return sum(t.num_rows for t in self.snapshot().values())
