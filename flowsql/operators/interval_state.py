"""One input's state of an interval join: append-only rows found by key id and event time.

Contract (:class:`TimedRows`):
- Rows are appended with their join key id (from the operator's key index; -1 only for
  the temporal join's probe rows that cannot match), their event time in epoch milliseconds and a
  ``matched`` flag (whether some row of the other input joined it; outer joins emit the
  unmatched ones NULL-padded when they leave the state). Duplicates are separate rows.
- :meth:`TimedRows.probe` answers, for many queries at once (key id, ``lo``, ``hi``), which
  stored rows have that key and ``lo <= time <= hi``. It uses a sorted index built when the
  rows changed since the last probe: rows ordered by (key, time); keys and times replaced
  by their ranks, so ``key rank * (distinct times + 1) + time rank`` is one sortable int64
  (it cannot overflow: both ranks are below the row count) and every query is two
  ``np.searchsorted`` calls. A probe costs O(state · log state) when the state changed, then
  O(queries · log state + matches).
- :meth:`TimedRows.evict` removes the rows a boolean mask marks and returns them (with their
  ``matched`` flags); it copies only the appended chunks that keep some rows and lose others.
- :meth:`TimedRows.table` / :meth:`TimedRows.restore` convert the rows to and from one
  Arrow table: the side's columns, then ``$time`` and ``$matched`` (or the ``flag`` name
  given; the operator adds the key columns).
- :func:`forget_unused_keys` drops the key ids no stored row of either side uses from the
  operators' shared key index, once they dominate it (keys of evicted rows).

The window join (:mod:`.window_join`) keeps its sides in the same structure, with the
window end as the time; the temporal join (:mod:`.temporal_state`) its probe rows, and its
versions in a subclass whose flag is ``$deleted``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flowsql.operators.join_state import expand
from flowsql.state.keyindex import KeyIndex

TIME, MATCHED = "$time", "$matched"
_SLACK = 4096


class TimedRows:
    def __init__(self, schema: pa.Schema, flag: str = MATCHED) -> None:
        self.schema = schema
        self.flag = flag  # the name of the ``matched`` column in :meth:`table`
        self._tables: list[pa.Table] = []
        self.key = np.zeros(0, dtype=np.int64)
        self.time = np.zeros(0, dtype=np.int64)
        self.matched = np.zeros(0, dtype=bool)
        self._index: tuple[np.ndarray, ...] | None = None

    def __len__(self) -> int:
        return len(self.key)

    def rows(self, ids: np.ndarray | None = None) -> pa.Table:
        """The stored rows ``ids`` (all rows when None), with the side's schema."""
        if len(self._tables) > 1:
            self._tables = [pa.concat_tables(self._tables).combine_chunks()]
        table = self._tables[0] if self._tables else self.schema.empty_table()
        return table if ids is None else table.take(pa.array(ids, pa.int64()))

    def append(self, rows: pa.Table, key: np.ndarray, time: np.ndarray, matched: np.ndarray) -> None:
        if not rows.num_rows:
            return
        self._tables.append(rows.select(self.schema.names))
        self.key = np.concatenate([self.key, key])
        self.time = np.concatenate([self.time, time])
        self.matched = np.concatenate([self.matched, matched])
        self._index = None

    def evict(self, dead: np.ndarray) -> tuple[pa.Table, np.ndarray]:
        """Remove the rows where ``dead`` is True; return them and their ``matched`` flags.
        Works chunk by chunk (the appended tables): a chunk wholly dead or wholly alive is
        moved, not copied."""
        if not dead.any():
            return self.schema.empty_table(), np.zeros(0, dtype=bool)
        gone: list[pa.Table] = []
        kept: list[pa.Table] = []
        at = 0
        for chunk in self._tables:
            part = dead[at:at + chunk.num_rows]
            at += chunk.num_rows
            if not part.any():
                kept.append(chunk)
            elif part.all():
                gone.append(chunk)
            else:
                gone.append(chunk.filter(pa.array(part)))
                kept.append(chunk.filter(pa.array(~part)))
        flags = self.matched[dead]
        keep = ~dead
        self._tables = kept
        self.key, self.time, self.matched = self.key[keep], self.time[keep], self.matched[keep]
        self._index = None
        return (gone[0] if len(gone) == 1 else pa.concat_tables(gone)), flags

    def _build(self) -> tuple[np.ndarray, ...]:
        order = np.lexsort((self.time, self.key))
        skeys, stimes = self.key[order], self.time[order]
        ukeys, krank = np.unique(skeys, return_inverse=True)
        utimes = np.unique(stimes)
        width = len(utimes) + 1
        comp = krank.astype(np.int64) * width + np.searchsorted(utimes, stimes)
        self._index = (order, ukeys, utimes, np.int64(width), comp)
        return self._index

    def probe(self, keys: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query number, stored row id) of every stored row with key ``keys[i]`` and a time
        in ``[lo[i], hi[i]]``; queries with key -1 match nothing."""
        if not len(self) or not len(keys):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        order, ukeys, utimes, width, comp = self._index or self._build()
        kpos = np.searchsorted(ukeys, keys)
        clipped = np.minimum(kpos, len(ukeys) - 1)
        rlo = np.searchsorted(utimes, lo, "left")   # time >= lo  <=>  rank >= rlo
        rhi = np.searchsorted(utimes, hi, "right")  # time <= hi  <=>  rank <  rhi
        start = np.searchsorted(comp, clipped * width + rlo, "left")
        stop = np.searchsorted(comp, clipped * width + rhi, "left")
        present = (keys >= 0) & (ukeys[clipped] == keys) & (rhi > rlo)
        stop = np.where(present, stop, start)
        owner, pos = expand(start, stop)
        return owner, order[pos]

    # -- checkpoints ---------------------------------------------------------------------
    def table(self) -> pa.Table:
        t = self.rows()
        t = t.append_column(TIME, pa.array(self.time.copy(), pa.int64()))
        return t.append_column(self.flag, pa.array(self.matched.copy(), pa.bool_()))

    def restore(self, table: pa.Table, key: np.ndarray) -> None:
        self.append(table.select(self.schema.names), key,
                    table.column(TIME).to_numpy().astype(np.int64),
                    table.column(self.flag).to_numpy(zero_copy_only=False).astype(bool))


def forget_unused_keys(index: KeyIndex | None, sides: tuple[TimedRows, ...]) -> None:
    """Renumber the key ids of ``sides`` keeping only the used ones (see the contract)."""
    if index is None or index.size <= 2 * sum(len(s) for s in sides) + _SLACK:
        return
    used = np.unique(np.concatenate([s.key for s in sides]))
    used = used[used >= 0]
    keep = np.zeros(index.size, dtype=bool)
    keep[used] = True
    remap = index.retain(keep)
    for s in sides:
        s.key = np.where(s.key >= 0, remap[np.maximum(s.key, 0)], -1)
        s._index = None
