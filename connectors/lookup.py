"""Lookup sources: what a connector offers so that a lookup join (``JOIN t FOR SYSTEM_TIME AS
OF o.proc_time``) can fetch the rows of ``t`` matching a batch of keys.

Contract:
- :class:`LookupSource` is the protocol: ``lookup(keys)`` takes a table of key columns (named
  as the lookup table's key columns, in ``key_names`` order, of their Arrow types) and returns
  every row of the lookup table whose key columns equal one key row, as a table of the lookup
  table's physical columns plus :data:`PROBE`, the int64 index of the key row it matches, in
  ascending :data:`PROBE` order. A key row with a NULL column matches nothing (SQL equality).
  ``close()`` frees what the source holds. One call per input batch: implementations answer a
  whole batch at once, never one row at a time.
- A connector that can be looked up overrides
  :meth:`connectors.base.ConnectorFactory.create_lookup` (``table, options, key_names`` →
  LookupSource). Today the filesystem connector does (csv / json / parquet) through
  :class:`FullCache`: the whole table is loaded into a :class:`KeyedRows` index and loaded
  again once the reload interval has passed. A Kafka (compacted topic) or JDBC-style connector
  implements the same protocol later: a full cache over its own ``load``, or a partial cache
  that asks the external system for the keys it misses.
- Options (:data:`LOOKUP_OPTIONS`, Flink's names): ``lookup.cache`` (``NONE`` | ``PARTIAL`` |
  ``FULL``; accepted — a filesystem table is always cached in full, as Flink's filesystem
  lookup does), ``lookup.full-cache.periodic-reload.interval``, ``lookup.cache.ttl`` and
  ``lookup.join.cache.ttl`` (the reload interval, first one given wins; default 60 min, Flink's
  ``lookup.join.cache.ttl`` default).
- Reload is checked when a lookup arrives: a lookup after the interval has passed (on the
  injectable ``clock``) reads the table again before answering. A lookup source keeps no
  checkpointed state: after recovery it loads the table afresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from connectors.base import OptionSpec
from flowsql.state.keyindex import KeyIndex

PROBE = "$probe"
DEFAULT_RELOAD_MS = 60 * 60 * 1000

LOOKUP_OPTIONS: list[OptionSpec] = [
    OptionSpec("lookup.cache", "enum", choices=("NONE", "PARTIAL", "FULL"),
               description="Lookup cache kind (accepted; filesystem tables are cached in full)."),
    OptionSpec("lookup.full-cache.periodic-reload.interval", "duration",
               description="How often a lookup join reloads the table."),
    OptionSpec("lookup.cache.ttl", "duration",
               description="How often a lookup join reloads the table (as the full cache interval)."),
    OptionSpec("lookup.join.cache.ttl", "duration",
               description="Flink's filesystem/Hive name of the reload interval (default 60 min)."),
]


class LookupSource(Protocol):
    key_names: tuple[str, ...]

    def lookup(self, keys: pa.Table) -> pa.Table: ...

    def close(self) -> None: ...


def reload_interval_ms(options: dict[str, Any]) -> int:
    """The reload interval of validated options (see the module contract)."""
    for key in ("lookup.full-cache.periodic-reload.interval", "lookup.cache.ttl",
                "lookup.join.cache.ttl"):
        if options.get(key) is not None:
            return int(options[key])
    return DEFAULT_RELOAD_MS


class KeyedRows:
    """An Arrow table indexed by its key columns; a key may have several rows."""

    def __init__(self, table: pa.Table, key_names: Sequence[str]) -> None:
        self.key_names = tuple(key_names)
        valid = np.ones(table.num_rows, dtype=bool)
        for k in self.key_names:
            c = table.column(k)
            if c.null_count:
                valid &= c.is_valid().to_numpy(zero_copy_only=False)
        if not valid.all():  # a row with a NULL key matches nothing
            table = table.filter(pa.array(valid))
        self.index = KeyIndex(list(self.key_names))
        ids = self.index.lookup(table.select(list(self.key_names))) if table.num_rows else (
            np.zeros(0, dtype=np.int64))
        order = np.argsort(ids, kind="stable")
        self.rows = table.take(pa.array(order)) if table.num_rows else table
        self.counts = np.bincount(ids).astype(np.int64) if len(ids) else np.zeros(0, np.int64)
        self.starts = np.cumsum(self.counts) - self.counts  # first row of each key id

    def probe(self, keys: pa.Table) -> pa.Table:
        """The matching rows of every key row (the :class:`LookupSource` result)."""
        n = keys.num_rows
        valid = np.ones(n, dtype=bool)
        for k in self.key_names:
            c = keys.column(k)
            if c.null_count:
                valid &= c.is_valid().to_numpy(zero_copy_only=False)
        ids = np.full(n, -1, dtype=np.int64)
        if valid.any() and len(self.counts):
            probe_keys = keys.select(list(self.key_names))
            if not valid.all():
                probe_keys = probe_keys.filter(pa.array(valid))
            ids[valid] = self.index.lookup(probe_keys, insert=False)
        hit = ids >= 0
        counts = np.zeros(n, dtype=np.int64)
        counts[hit] = self.counts[ids[hit]]
        total = int(counts.sum())
        probe = np.repeat(np.arange(n, dtype=np.int64), counts)
        # row positions: each key's start plus 0 .. count-1
        starts = np.zeros(n, dtype=np.int64)
        starts[hit] = self.starts[ids[hit]]
        first = np.repeat(starts, counts)
        offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = self.rows.take(pa.array(first + offsets)) if total else self.rows.slice(0, 0)
        return rows.append_column(PROBE, pa.array(probe, pa.int64()))


class FullCache:
    """A :class:`LookupSource` over the whole table ``load()`` returns, loaded at the first
    lookup and again at the first lookup after ``reload_ms`` (``clock`` in seconds)."""

    def __init__(self, load: Callable[[], pa.Table], key_names: Sequence[str], reload_ms: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.key_names = tuple(key_names)
        self._load, self.reload_ms, self.clock = load, reload_ms, clock
        self._rows: KeyedRows | None = None
        self._loaded_at = 0.0
        self.loads = 0

    def lookup(self, keys: pa.Table) -> pa.Table:
        now = self.clock()
        if self._rows is None or (now - self._loaded_at) * 1000 >= self.reload_ms:
            self._rows = KeyedRows(self._load(), self.key_names)
            self._loaded_at, self.loads = now, self.loads + 1
        return self._rows.probe(keys)

    def close(self) -> None:
        self._rows = None
