"""One input's state of a regular join: its distinct rows with multiplicities, found by key.

Contract (:class:`JoinSide`):
- :meth:`JoinSide.row_ids` gives every row of a table a dense row id (identical rows share
  one; ids grow in first-seen order) and remembers the values of new rows. Row identity is
  value equality with NULL = NULL (``KeyIndex``); ROW columns are compared field by field.
  An ``append_only`` side (its input never retracts) skips row identity: every row gets a
  new id (identical rows are separate rows of multiplicity 1, which joins and ranks alike),
  and a retraction reaching it raises ``RuntimeError``.
- Row values are kept in contiguous Arrow tables ("pieces", in id order; see
  :mod:`flowsql.state.pieces`): storing a batch never copies the whole state, and a lookup
  takes from each piece it needs.
- Per row id, numpy columns: ``cnt`` (multiplicity; 0 = not in the state), ``key`` (the join
  key's id in the operator's shared key index; rows with a NULL key are never stored),
  ``assoc`` (how many rows of the other side it matches; kept for outer sides) and
  ``touched`` (last write, epoch ms; TTL).
- :meth:`JoinSide.net_change` gives the row ids and multiplicity changes of a batch's
  distinct rows (identical rows with opposite signs cancel).
- :meth:`JoinSide.probe` returns the live rows whose key id is in a given set. Rows are found
  through a *run* sorted by key id (``np.searchsorted``) plus a *tail* of rows stored since
  the run was built (``np.isin``); the run is rebuilt when the tail outgrows half of it, so
  a probe costs O(keys · log state + tail + matches), not O(state).
- :meth:`JoinSide.compact` drops dead row ids once they outnumber the live ones (ids are
  renumbered; the caller must not hold ids across it).
- :meth:`JoinSide.table` / :meth:`JoinSide.restore` convert the live rows to and from one
  Arrow table (the side's columns, ``$cnt``, ``$assoc``, ``$touched``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flowsql.state.growth import grown
from flowsql.state.keyindex import KeyIndex, identity_columns
from flowsql.state.pieces import add_piece, piece_starts, take_pieces

CNT, ASSOC, TOUCHED = "$cnt", "$assoc", "$touched"
_SLACK = 4096


def expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges ``[lo[i], hi[i])``: (range number, position) of every element, in order."""
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(lo)), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(total) - np.repeat(starts, counts) + np.repeat(lo, counts)
    return owner, pos


def _single_chunk(table: pa.Table) -> pa.Table:
    return table.combine_chunks() if any(c.num_chunks > 1 for c in table.columns) else table


class JoinSide:
    def __init__(self, schema: pa.Schema, *, append_only: bool = False) -> None:
        self.schema = schema
        self.append_only = append_only
        self.index: KeyIndex | None = None
        self._count = 0  # append_only: rows stored so far (the next id)
        self._values: list[pa.Table] = []  # contiguous pieces, in id order, sizes decreasing
        self._starts = np.zeros(0, dtype=np.int64)  # first id of each piece
        self.cnt = np.zeros(0, dtype=np.int64)
        self.key = np.zeros(0, dtype=np.int64)
        self.assoc = np.zeros(0, dtype=np.int64)
        self.touched = np.zeros(0, dtype=np.float64)
        self.live = 0
        self._run_rows = np.zeros(0, dtype=np.int64)
        self._run_keys = np.zeros(0, dtype=np.int64)
        self._tail: list[np.ndarray] = []

    @property
    def size(self) -> int:
        if self.append_only:
            return self._count
        return self.index.size if self.index is not None else 0

    # -- rows ----------------------------------------------------------------------------
    def row_ids(self, table: pa.Table) -> np.ndarray:
        """Row ids of ``table``'s rows (new rows get new ids; their values are kept)."""
        if self.append_only:
            ids = np.arange(self._count, self._count + table.num_rows, dtype=np.int64)
            self._count += table.num_rows
            if table.num_rows:
                self._store(table)
            return ids
        ident = identity_columns(table)
        if self.index is None:
            self.index = KeyIndex(list(ident))
        before = self.index.size
        ids = self.index.lookup(pa.table(ident))
        if self.index.size > before:
            uniq, first = np.unique(ids, return_index=True)
            new = uniq >= before
            self._store(table.take(pa.array(first[new])))
        return ids

    def _store(self, rows: pa.Table) -> None:
        """Keep the values of new rows (the next ids), merging pieces as the docstring says."""
        add_piece(self._values, rows)
        self._starts = piece_starts(self._values)
        n = self.size
        self.cnt = grown(self.cnt, n)
        self.key = grown(self.key, n, -1)
        self.assoc = grown(self.assoc, n)
        self.touched = grown(self.touched, n)

    def net_change(self, table: pa.Table, sign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row ids, multiplicity change) of the distinct rows of ``table`` whose signed
        count (``sign``: +1 add, -1 retract per row) does not cancel out."""
        if self.append_only:
            if (sign < 0).any():
                raise RuntimeError("an append-only join/rank input received a retraction")
            return self.row_ids(table), sign.astype(np.int64)
        ids = self.row_ids(table)
        uniq, inverse = np.unique(ids, return_inverse=True)
        delta = np.bincount(inverse, weights=sign, minlength=len(uniq)).astype(np.int64)
        changed = delta != 0
        return uniq[changed], delta[changed]

    def values(self, ids: np.ndarray) -> pa.Table:
        """The rows of ``ids`` (in that order), with the side's schema."""
        if not self._values:
            return self.schema.empty_table()
        return take_pieces(self._values, ids, self._starts)

    def add(self, ids: np.ndarray, delta: np.ndarray, keys: np.ndarray, now_ms: float) -> None:
        """Apply multiplicity changes ``delta`` to the distinct rows ``ids`` (key ids
        ``keys``); rows new to the state join the probe tail, emptied rows leave it."""
        old = self.cnt[ids]
        new = np.maximum(old + delta, 0)  # a retraction of a row the state lacks (TTL) is dropped
        self.cnt[ids] = new
        self.key[ids] = keys
        self.touched[ids] = now_ms
        arrived = ids[(old == 0) & (new > 0)]
        if len(arrived):
            self._tail.append(arrived)
        self.live += int((new > 0).sum()) - int((old > 0).sum())
        if sum(len(t) for t in self._tail) > max(1024, len(self._run_rows) // 2):
            self.rebuild()

    def drop(self, ids: np.ndarray) -> None:
        """Forget rows (state TTL), without any output."""
        alive = ids[self.cnt[ids] > 0]
        self.cnt[alive] = 0
        self.assoc[alive] = 0
        self.live -= len(alive)

    # -- probing -------------------------------------------------------------------------
    def rebuild(self) -> None:
        live = np.flatnonzero(self.cnt[: self.size] > 0)
        order = np.argsort(self.key[live], kind="stable")
        self._run_rows = live[order]
        self._run_keys = self.key[self._run_rows]
        self._tail = []

    def probe(self, keys: np.ndarray) -> np.ndarray:
        """Ids of the live rows whose key id is in ``keys`` (sorted, unique)."""
        lo = np.searchsorted(self._run_keys, keys, "left")
        hi = np.searchsorted(self._run_keys, keys, "right")
        _, pos = expand(lo, hi)
        found = [self._run_rows[pos]]
        if self._tail:
            tail = np.concatenate(self._tail) if len(self._tail) > 1 else self._tail[0]
            self._tail = [tail]
            found.append(tail[np.isin(self.key[tail], keys)])
        rows = np.concatenate(found)
        rows = rows[self.cnt[rows] > 0]
        return np.unique(rows)  # a row may sit in both (emptied, then stored again)

    # -- housekeeping --------------------------------------------------------------------
    def compact(self) -> bool:
        """Drop dead ids when they dominate; True when ids were renumbered."""
        if self.size <= 2 * self.live + _SLACK:
            return False
        n = self.size
        keep = self.cnt[:n] > 0
        if self.append_only:
            self._count = int(keep.sum())
        else:
            self.index.retain(keep)
        kept = _single_chunk(self.values(np.flatnonzero(keep)))
        self._values, self._starts = [kept], np.zeros(1, dtype=np.int64)
        self.cnt, self.key = self.cnt[:n][keep], self.key[:n][keep]
        self.assoc, self.touched = self.assoc[:n][keep], self.touched[:n][keep]
        self.rebuild()
        return True

    def live_ids(self) -> np.ndarray:
        return np.flatnonzero(self.cnt[: self.size] > 0)

    def table(self) -> pa.Table:
        live = self.live_ids()
        t = self.values(live)
        t = t.append_column(CNT, pa.array(self.cnt[live], pa.int64()))
        t = t.append_column(ASSOC, pa.array(self.assoc[live], pa.int64()))
        return t.append_column(TOUCHED, pa.array(self.touched[live], pa.float64()))

    def restore(self, table: pa.Table, keys: np.ndarray) -> None:
        """Load rows saved by :meth:`table` (key ids ``keys``, from the shared key index)."""
        rows = table.select(self.schema.names)
        ids = self.row_ids(rows)
        self.add(ids, table.column(CNT).to_numpy(), keys, 0.0)
        self.assoc[ids] = table.column(ASSOC).to_numpy()
        self.touched[ids] = table.column(TOUCHED).to_numpy()
        self.rebuild()
