"""ChangelogNormalize: an upsert stream keyed by a primary key → a full changelog (+I/-U/+U/-D).

Semantics (Flink's ``ChangelogNormalize`` / ``processLastRowOnChangelog``, with
update-before generated and no state TTL):
- Input rows carry the :data:`~flowsql.messages.ROW_KIND` column. +I and +U are *upserts*
  (the new version of the row of their key); -D and -U are *deletes* of their key.
- Per key, in arrival order, against the key's current row (state):
  1. an upsert with no current row emits ``+I new``;
  2. an upsert with a current row emits ``-U current`` then ``+U new`` — unless the new row
     equals the current one (every column, NULL = NULL), which emits nothing;
  3. a delete with a current row emits ``-D current`` (the stored row: a Kafka tombstone holds
     only the key) and clears the state; a delete of an absent key emits nothing.
- Output order: the rows of one key keep their arrival order (batches are processed sorted by
  key, then arrival); rows of different keys may be reordered within a batch.
- The operator is keyed: the planner hash-partitions its input on the key columns.

How (vectorized, per batch): key ids from a :class:`~flowsql.state.keyindex.KeyIndex`; the
batch is sorted by (key id, position); each event's predecessor is the previous event of the
same key in the batch, or the stored row for the first one; the emissions are built as two
candidate slots per event, flattened and taken from (batch rows + fetched stored rows) in one
``take``. State: every key's current row lives in an append-only Arrow table ``store`` and
``slot[key id]`` points at it (-1: no row); the store is compacted when dead rows outnumber
live ones.

Checkpoints: :meth:`snapshot` returns ``{"rows": <the current row of every live key>}``;
``state_keys`` are the key columns, so a restore at another parallelism gets the rows of its
key groups. Not supported yet: state TTL (``table.exec.state.ttl`` is not applied here).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flowsql.messages import ROW_KIND, RowKind
from flowsql.operators.base import Collector, Operator
from flowsql.state.growth import grown
from flowsql.state.keyindex import KeyIndex, _same_column

_COMPACT_SLACK = 4096


def _rows_equal(a: pa.Table, b: pa.Table) -> np.ndarray:
    """Row-wise equality of two aligned tables (NULL = NULL); a column type that cannot be
    compared counts as different (so an update is emitted)."""
    eq = np.ones(a.num_rows, dtype=bool)
    for name in a.column_names:
        x, y = a.column(name).combine_chunks(), b.column(name).combine_chunks()
        try:
            eq &= _same_column(x, y)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
            return np.zeros(a.num_rows, dtype=bool)
    return eq


class ChangelogNormalizeOperator(Operator):
    def __init__(self, keys: list[str], schema: pa.Schema) -> None:
        if not keys:
            raise ValueError("ChangelogNormalize needs key columns")
        self.keys = list(keys)
        self.schema = pa.schema([f for f in schema if f.name != ROW_KIND])
        self.index = KeyIndex(self.keys)
        self.slot = np.zeros(0, dtype=np.int64)
        self.store: pa.Table = self.schema.empty_table()

    @property
    def state_keys(self) -> list[str]:
        return list(self.keys)

    def _grow(self) -> None:
        self.slot = grown(self.slot, self.index.size, -1)

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        n = batch.num_rows
        if not n:
            return
        kind = batch.column(ROW_KIND).to_numpy(zero_copy_only=False).astype(np.int8)
        data = pa.Table.from_batches([batch]).drop_columns([ROW_KIND])
        if data.schema != self.schema:
            data = data.cast(self.schema)
        ids = self.index.lookup(data.select(self.keys))
        self._grow()

        # 1. sort by (key id, arrival); find each event's predecessor
        order = np.lexsort((np.arange(n), ids))
        sid = ids[order]
        upsert = np.isin(kind[order], (RowKind.INSERT, RowKind.UPDATE_AFTER))
        first = np.ones(n, dtype=bool)
        first[1:] = sid[1:] != sid[:-1]
        last = np.ones(n, dtype=bool)
        last[:-1] = sid[1:] != sid[:-1]
        stored = self.slot[sid]
        from_state = first & (stored >= 0)
        fetched = self.store.take(pa.array(stored[from_state])) if from_state.any() else None
        combined = data if fetched is None else pa.concat_tables([data, fetched])
        prev = np.full(n, -1, dtype=np.int64)
        prev_alive = np.zeros(n, dtype=bool)
        prev[1:] = np.where(first[1:], -1, order[:-1])
        prev_alive[1:] = ~first[1:] & upsert[:-1]
        prev[from_state] = n + np.arange(int(from_state.sum()))
        prev_alive[from_state] = True

        # 2. what each event emits: slot a (+I / -U / -D), slot b (+U)
        update = upsert & prev_alive
        if update.any():
            rows = np.flatnonzero(update)
            same = _rows_equal(data.take(pa.array(order[rows])),
                               combined.take(pa.array(prev[rows])))
            update[rows[same]] = False  # an identical upsert emits nothing
        insert = upsert & ~prev_alive
        delete = ~upsert & prev_alive
        a_valid = update | insert | delete
        a_idx = np.where(insert, order, prev)
        a_kind = np.where(insert, RowKind.INSERT,
                          np.where(update, RowKind.UPDATE_BEFORE, RowKind.DELETE))
        b_valid = update
        idx = np.stack([a_idx, order], axis=1).ravel()
        kinds = np.stack([a_kind, np.full(n, RowKind.UPDATE_AFTER)], axis=1).ravel()
        valid = np.stack([a_valid, b_valid], axis=1).ravel()
        if valid.any():
            emitted = combined.take(pa.array(idx[valid]))
            emitted = emitted.append_column(
                pa.field(ROW_KIND, pa.int8(), nullable=False),
                pa.array(kinds[valid].astype(np.int8), pa.int8()))
            for b in emitted.combine_chunks().to_batches():
                out.emit(b)

        # 3. state: the last event of every key decides its current row
        keep = last & upsert
        gone = last & ~upsert
        self.slot[sid[gone]] = -1
        if keep.any():
            base = self.store.num_rows
            self.store = pa.concat_tables([self.store, data.take(pa.array(order[keep]))])
            self.slot[sid[keep]] = base + np.arange(int(keep.sum()))
        self._compact()

    def _compact(self) -> None:
        live = np.flatnonzero(self.slot >= 0)
        if self.store.num_rows <= 2 * len(live) + _COMPACT_SLACK:
            return
        self.store = self.store.take(pa.array(self.slot[live])).combine_chunks()
        self.slot[live] = np.arange(len(live))

    # -- checkpoints ---------------------------------------------------------------------
    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        live = np.flatnonzero(self.slot[: self.index.size] >= 0)
        return {"rows": self.store.take(pa.array(self.slot[live])).combine_chunks()}

    def restore(self, state: dict[str, pa.Table]) -> None:
        table = state.get("rows")
        if table is None or not table.num_rows:
            return
        table = table.select(self.schema.names).cast(self.schema)
        ids = self.index.lookup(table.select(self.keys))
        self._grow()
        base = self.store.num_rows
        self.store = pa.concat_tables([self.store, table])
        self.slot[ids] = base + np.arange(table.num_rows)
