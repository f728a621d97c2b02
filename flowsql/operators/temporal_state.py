"""The versioned side of an event-time temporal join: every version of every key still needed.

Contract (:class:`Versions`):
- Rows are appended in arrival order with their join key id (-1: a NULL key, never stored by
  the operator), their version time (epoch ms) and a ``deleted`` flag (a -D row: from its
  time on the key has no version).
- :meth:`Versions.find` answers, for many probes at once (key id, time), which stored row is
  the key's version at that time: the row with the greatest version time ``<= time``; among
  rows with equal key and time the one that arrived last (as Flink's state keyed by row
  time, where a later row overwrites). The answer is -1 when there is none, when that row is
  a deletion, or when the probe's key is -1. One stable ``np.lexsort`` of the state by (key,
  time) (built when the state changed since the last probe), then one ``np.searchsorted``
  per probe batch over ``key rank * width + time rank`` (one sortable int64).
- :meth:`Versions.latest_time`: the newest stored version time of each key.
- :meth:`Versions.expire` drops, per key, every row older than the newest row at or below
  the watermark (no probe still to come can see them: later probes are above the
  watermark), and that newest row too when it is a deletion.
- Storage, eviction and :meth:`Versions.table` / :meth:`Versions.restore` (one Arrow table
  of the side's columns, ``$time`` and ``$deleted``, in arrival order) are
  :class:`~.interval_state.TimedRows`'.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flowsql.operators.interval_state import TimedRows

DELETED = "$deleted"


class Versions(TimedRows):
    """:class:`~.interval_state.TimedRows` whose flag is ``deleted`` (``$deleted``)."""

    def __init__(self, schema: pa.Schema) -> None:
        super().__init__(schema, DELETED)

    @property
    def deleted(self) -> np.ndarray:
        return self.matched

    def _build(self) -> tuple[np.ndarray, ...]:
        order = np.lexsort((self.time, self.key))  # stable: equal (key, time) keep arrival order
        skey, stime = self.key[order], self.time[order]
        self._index = (order, skey, stime)
        return self._index

    def find(self, keys: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Stored row id of each probe's version, or -1 (see the contract)."""
        found = np.full(len(keys), -1, dtype=np.int64)
        if not len(self) or not len(keys):
            return found
        order, skey, stime = self._index or self._build()
        ukeys, krank = np.unique(skey, return_inverse=True)
        utimes = np.unique(np.concatenate([stime, times]))
        width = np.int64(len(utimes) + 1)
        comp = krank.astype(np.int64) * width + np.searchsorted(utimes, stime)
        qpos = np.minimum(np.searchsorted(ukeys, keys), len(ukeys) - 1)
        qcomp = qpos.astype(np.int64) * width + np.searchsorted(utimes, times)
        pos = np.searchsorted(comp, qcomp, "right") - 1  # last row <= (key, time)
        safe = np.maximum(pos, 0)
        ok = (keys >= 0) & (pos >= 0) & (skey[safe] == keys)
        hit = order[safe]
        ok &= ~self.deleted[hit]
        found[ok] = hit[ok]
        return found

    def latest_time(self, keys: np.ndarray) -> np.ndarray:
        """The newest stored version time of each key (the minimum int64 when none)."""
        out = np.full(len(keys), np.iinfo(np.int64).min, dtype=np.int64)
        if not len(self) or not len(keys):
            return out
        order, skey, stime = self._index or self._build()
        last = np.searchsorted(skey, keys, "right") - 1  # the key's last row: its newest
        safe = np.maximum(last, 0)
        ok = (keys >= 0) & (last >= 0) & (skey[safe] == keys)
        out[ok] = stime[safe][ok]
        return out

    def expire(self, watermark: int) -> None:
        """Drop the versions no probe still to come can see (see the contract)."""
        if not len(self):
            return
        order, skey, stime = self._index or self._build()
        below = stime <= watermark  # within a key, a prefix of its rows (sorted by time)
        nxt_same = np.zeros(len(skey), dtype=bool)
        nxt_same[:-1] = (skey[1:] == skey[:-1]) & below[1:]
        newest = below & ~nxt_same
        keep_sorted = ~below | (newest & ~self.deleted[order])
        if keep_sorted.all():
            return
        keep = np.empty(len(keep_sorted), dtype=bool)
        keep[order] = keep_sorted
        self.evict(~keep)

    def take(self, ids: np.ndarray) -> pa.Table:
        """The rows ``ids`` (-1: a row of NULLs)."""
        missing = ids < 0
        indices = pa.array(np.where(missing, 0, ids), pa.int64(), mask=missing if missing.any() else None)
        if not len(self):
            return pa.table({f.name: pa.nulls(len(ids), f.type) for f in self.schema}, schema=self.schema)
        return self.rows().take(indices)
