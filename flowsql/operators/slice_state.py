"""The keyed state of one window slice: key id → accumulator cell, plus DISTINCT value sets.

Contract:
- :meth:`SliceCells.merge` folds partial rows (one per key id, ids unique) into the slice:
  cells of known ids are merged in place, new ids get new cells — O(rows · log cells) plus
  an O(cells) memmove of the key-id array and of each state column when ids are new; never
  a re-aggregation of the whole slice.
- :meth:`SliceCells.table` returns every cell as ``$kid`` (int64) + accumulator state
  columns, in key-id order.
- DISTINCT aggregates: ``distinct[i]`` is a list of de-duplicated (keys, ``$v``) tables,
  appended per batch and compacted (``group_by`` de-duplication) when the list grows long;
  :meth:`distinct_values` returns them de-duplicated.
- :meth:`remap` renumbers key ids after the key index dropped dead keys (the map is
  monotonic on surviving ids, so the sorted id array stays sorted).

Layout: cell ``c`` is the ``c``-th smallest key id of the slice. ``kids`` holds those ids,
ascending (int32 while every id fits, else int64), and the store's slots follow the same
order, so one array both maps a cell to its key id and finds a key id's cell by binary
search; a new key id is inserted at its place in ``kids`` and in every state column.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flowsql.operators.acc_store import AccumulatorStore
from flowsql.operators.accumulators import VALUE, Accumulators

KID = "$kid"
_INT32_MAX = np.iinfo(np.int32).max
_MAX_DISTINCT_PARTS = 32
_DENSE_SLACK = 1 << 16  # grid cells a dense merge may leave empty besides 4 per input cell


class SliceCells:
    def __init__(self, accs: Accumulators, keys: list[str]) -> None:
        self.keys = keys
        self.store = AccumulatorStore(accs)
        self.kids = np.empty(0, dtype=np.int32)  # key id of each cell, ascending
        self.n = 0
        self.distinct: dict[int, list[pa.Table]] = {i: [] for i in accs.distinct}

    def _fit(self, kids: np.ndarray) -> np.ndarray:
        """``kids`` in the dtype of :attr:`kids`, widening that to int64 when an id needs it
        (so lookups never convert the whole array)."""
        if self.kids.dtype == np.int32 and len(kids) and int(kids.max()) > _INT32_MAX:
            self.kids = self.kids.astype(np.int64)
        return kids.astype(self.kids.dtype, copy=False)

    def cells_for(self, kids: np.ndarray) -> np.ndarray:
        """Cell of every (unique) key id, creating cells for new ids (cells after a new id
        shift by one: call before taking cell numbers of this slice elsewhere)."""
        kids = self._fit(kids)
        if self.n == 0:  # a fresh slice (the usual case for a new batch's slices)
            m = len(kids)
            order = np.argsort(kids)  # unique ids: the default (SIMD) sort suffices
            self.kids = kids[order]
            self.n = m
            self.store.resize(m)
            cells = np.empty(m, dtype=np.int64)
            cells[order] = np.arange(m, dtype=np.int64)
            return cells
        pos = np.searchsorted(self.kids, kids)
        ok = pos < self.n
        hit = ok & (self.kids[np.where(ok, pos, 0)] == kids)
        if hit.all():
            return pos
        new = np.sort(kids[~hit])
        at = np.searchsorted(self.kids, new)
        self.kids = np.insert(self.kids, at, new)
        self.store.insert(at)
        self.n += len(new)
        return np.searchsorted(self.kids, kids)

    def merge(self, kids: np.ndarray, partial: pa.Table) -> None:
        self.store.merge(self.cells_for(kids), partial)

    def table(self) -> pa.Table:
        cells = np.arange(self.n, dtype=np.int64)
        t = self.store.table(cells)
        return t.add_column(0, KID, pa.array(self.kids.astype(np.int64)))

    def add_distinct(self, i: int, values: pa.Table) -> None:
        parts = self.distinct[i]
        parts.append(values)
        if len(parts) > _MAX_DISTINCT_PARTS:
            self.distinct[i] = [self.distinct_values(i)]

    def distinct_values(self, i: int) -> pa.Table | None:
        parts = self.distinct[i]
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        both = pa.concat_tables(parts, promote_options="permissive")
        return both.group_by([*self.keys, VALUE], use_threads=False).aggregate([])

    def remap(self, remap: np.ndarray) -> None:
        self.kids = remap[self.kids].astype(self.kids.dtype)


def merge_windows(slices: list[SliceCells], pair_slice: np.ndarray, wends: np.ndarray,
                  ) -> tuple[np.ndarray, np.ndarray, pa.Table] | None:
    """Merge the cells of (window, slice) pairs per (window end, key id), in numpy.

    Pair ``p`` is window ``wends[p]`` x slice ``slices[pair_slice[p]]``. Returns ``(window
    ends, key ids, state table)`` of the merged rows, sorted by window end then key id — or
    None when a slice's store is not all numeric sum/min/max (the caller then merges with
    ``Accumulators.merge``). Same semantics as merging the slices into one store: sums add
    valid values, min/max ignore invalid ones (NaN-ignoring for floats), a result is valid
    when any input is. A dense (window, key id) grid (few key ids) is filled by scatter
    without a sort; otherwise the cells are sorted by (window, key id) and reduced.
    """
    stores = [s.store.numeric() for s in slices]
    if any(c is None for c in stores) or any(c.keys() != stores[0].keys() for c in stores):
        return None
    sizes = np.array([s.n for s in slices], dtype=np.int64)
    counts = sizes[pair_slice]
    total = int(counts.sum())
    if not total:
        return None
    ranks, inverse = np.unique(wends, return_inverse=True)
    # the cells of every used slice once, and for every pair the positions of its slice's cells
    kid_all = np.concatenate([s.kids[: s.n] for s in slices])
    pair_starts = np.cumsum(counts) - counts
    src = np.repeat((np.cumsum(sizes) - sizes)[pair_slice] - pair_starts, counts) + np.arange(
        total, dtype=np.int64)
    kid = kid_all[src]
    width = int(kid.max()) + 1
    code = np.repeat(inverse.reshape(-1), counts) * width + kid
    if len(ranks) * width <= 4 * total + _DENSE_SLACK:
        return _merge_dense(stores, slices, src, code, len(ranks) * width, ranks, width)
    order = np.argsort(code, kind="stable")
    code = code[order]
    src = src[order]
    starts = np.flatnonzero(np.concatenate(([True], code[1:] != code[:-1])))
    cols: dict[str, pa.Array] = {}
    for name, (fn, col) in stores[0].items():
        cs = [st[name][1] for st in stores]
        vals = np.concatenate([c.values[: s.n] for c, s in zip(cs, slices, strict=True)])[src]
        valid = np.concatenate([c.validity(s.n) for c, s in zip(cs, slices, strict=True)])[src]
        ok = np.logical_or.reduceat(valid, starts)
        if fn == "sum":
            r = np.add.reduceat(np.where(valid, vals, 0).astype(vals.dtype, copy=False), starts)
        else:
            r = _min_max(vals, valid, starts, fn)
        cols[name] = col.from_numpy(r, ok)
    ends = ranks[code[starts] // width]
    kids = code[starts] % width
    return ends, kids, pa.table(cols)


def _merge_dense(stores: list, slices: list[SliceCells], src: np.ndarray, code: np.ndarray,
                 size: int, ranks: np.ndarray, width: int,
                 ) -> tuple[np.ndarray, np.ndarray, pa.Table]:
    """:func:`merge_windows` without a sort, when the (window, key id) grid is dense (few
    key ids per window, as in a HOP over a bounded key space): scatter every pair's cells
    into a grid of ``size`` = windows x key ids (``np.bincount`` for sums it adds exactly,
    unbuffered ufunc ``at`` calls otherwise); the occupied grid cells, read in grid order,
    are already sorted by window end then key id."""
    cells = np.flatnonzero(np.bincount(code, minlength=size))
    cols: dict[str, pa.Array] = {}
    for name, (fn, col) in stores[0].items():
        cs = [st[name][1] for st in stores]
        vals = np.concatenate([c.values[: s.n] for c, s in zip(cs, slices, strict=True)])[src]
        valid = np.concatenate([c.validity(s.n) for c, s in zip(cs, slices, strict=True)])[src]
        if valid.all():
            ok = np.ones(len(cells), dtype=bool)
        else:
            grid = np.zeros(size, dtype=bool)
            grid[code[valid]] = True
            ok = grid[cells]
        if fn == "sum":
            r = _sum_at(np.where(valid, vals, 0).astype(vals.dtype, copy=False), code, size)
        else:
            r = _min_max_at(vals, valid, code, size, fn)
        cols[name] = col.from_numpy(r[cells], ok)
    return ranks[cells // width], cells % width, pa.table(cols)


def _sum_at(vals: np.ndarray, code: np.ndarray, size: int) -> np.ndarray:
    """Per-grid-cell sums, added in input order: ``np.bincount`` (float64) for float64 values
    and for integers whose sums stay below 2**53 in magnitude (exact), else ``np.add.at``."""
    if len(vals) and (vals.dtype == np.float64 or (vals.dtype.kind in "iu" and max(
            abs(int(vals.min())), abs(int(vals.max()))) * len(vals) < 2**53)):
        return np.bincount(code, weights=vals, minlength=size).astype(vals.dtype, copy=False)
    r = np.zeros(size, dtype=vals.dtype)
    np.add.at(r, code, vals)
    return r


def _min_max_at(vals: np.ndarray, valid: np.ndarray, code: np.ndarray, size: int,
                fn: str) -> np.ndarray:
    """Grid-scatter min/max with the same semantics as :func:`_min_max` (invalid inputs and
    float NaNs ignored)."""
    if vals.dtype.kind == "f":
        r = np.full(size, np.nan, dtype=vals.dtype)
        (np.fmin if fn == "min" else np.fmax).at(r, code, np.where(valid, vals, np.nan))
        return r
    fill = _identity(vals.dtype, fn)
    r = np.full(size, fill, dtype=vals.dtype)
    (np.minimum if fn == "min" else np.maximum).at(r, code, np.where(valid, vals, fill))
    return r


def _min_max(vals: np.ndarray, valid: np.ndarray, starts: np.ndarray, fn: str) -> np.ndarray:
    if vals.dtype.kind == "f":
        f = np.fmin if fn == "min" else np.fmax
        return f.reduceat(np.where(valid, vals, np.nan), starts)
    fill = _identity(vals.dtype, fn)
    f = np.minimum if fn == "min" else np.maximum
    return f.reduceat(np.where(valid, vals, fill), starts)


def _identity(dtype: np.dtype, fn: str) -> bool | int:
    """The identity of min / max over a bool or integer dtype (fills invalid inputs)."""
    if dtype.kind == "b":
        return fn == "min"
    info = np.iinfo(dtype)
    return info.max if fn == "min" else info.min
