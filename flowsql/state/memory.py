"""In-memory :class:`~flowsql.state.backend.StateBackend`: a dict of Arrow tables.

Snapshots are cheap because Arrow tables are immutable: the snapshot shares buffers with the
live state, and a later ``put`` replaces the entry instead of mutating it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa

from flowsql.state.backend import StateBackend
from flowsql.state.keygroups import MAX_PARALLELISM, filter_key_groups


class MemoryStateBackend(StateBackend):
    def __init__(self) -> None:
        self._tables: dict[str, pa.Table] = {}

    def get(self, name: str) -> pa.Table | None:
        return self._tables.get(name)

    def put(self, name: str, table: pa.Table) -> None:
        self._tables[name] = table

    def delete(self, name: str) -> None:
        self._tables.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._tables)

    def snapshot(self) -> dict[str, pa.Table]:
        return dict(self._tables)

    def restore(
        self,
        state: Mapping[str, pa.Table],
        *,
        key_group_range: tuple[int, int] | None = None,
        key_columns: Sequence[str] | None = None,
        max_parallelism: int | None = None,
    ) -> None:
        self._tables = {}
        for name, table in state.items():
            if (
                key_group_range is not None
                and key_columns
                and all(k in table.column_names for k in key_columns)
            ):
                table = filter_key_groups(
                    table, key_columns, key_group_range, max_parallelism or MAX_PARALLELISM
                )
            self._tables[name] = table
