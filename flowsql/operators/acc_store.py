"""Accumulator state as columns indexed by a dense slot number (a key id, a session, a cell).

Contract:
- An :class:`AccumulatorStore` holds the state columns of one
  :class:`~flowsql.operators.accumulators.Accumulators` (plus ``extra`` ``(column, merge)``
  pairs such as a signed row count) for slots ``0 .. size - 1``; :meth:`resize` adds empty
  slots (the state of no rows: counts 0, everything else NULL).
- :meth:`merge` folds a partial/state table (the output of ``Accumulators.partial`` /
  ``merge`` / ``distinct_partial``, one row per slot, slots UNIQUE) into the given slots
  with each column's merge function — the same semantics as ``Accumulators.merge`` — in
  O(rows of the partial), whatever the number of slots.
- :meth:`table` returns the state of slots as a table ``Accumulators.results`` accepts;
  :meth:`assign` overwrites slots (restore); :meth:`reset` empties them; :meth:`compact`
  keeps / reorders slots (new slot ``i`` = old slot ``order[i]``); :meth:`insert` adds
  empty slots between existing ones.

:meth:`numeric` exposes the numpy columns of an all-numeric sum/min/max store, for callers
that merge many slots at once (the window operator's firing).

Storage: fixed-width types (integers, floats, booleans, temporals) live in numpy arrays with
a validity array and merge with numpy ufuncs on the touched slots. Columns of
``Accumulators.zero_when_empty()`` (counts, and the sums whose count decides NULL) keep no
validity array: an empty slot holds 0, which gives the same results as NULL, so
:meth:`AccumulatorStore.table` returns 0 there.

Shared row count (``rows``): a store given a ``rows`` column (a signed row count kept
next to the accumulators, e.g. ``$rows`` of the GROUP BY) starts with every count column
(``a{i}.cnt``) as an alias of it, holding no array of its own. A merge or assign whose
value for a count column differs from its ``rows`` value, on any row, first copies the
``rows`` array into a column of its own (from then on the count is stored apart). So an
unfiltered ``COUNT(*)``, or the count of a ``SUM`` over a column that has had no NULL,
costs no bytes per slot. Other types (decimals,
strings, ...) live in an append-only Arrow value pool referenced by an int64 per slot; they
merge through a pyarrow ``group_by`` over (old, new) pairs, and the pool is compacted when
it holds more dead values than slots.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.operators.accumulators import Accumulators
from flowsql.state.growth import grown


def as_array(x: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array."""
    if isinstance(x, pa.ChunkedArray):
        return x.combine_chunks() if x.num_chunks != 1 else x.chunk(0)
    return x


def _numpy_type(t: pa.DataType) -> tuple[np.dtype, pa.DataType] | None:
    """(storage dtype, Arrow type viewed as that dtype) of a fixed-width type, else None."""
    if pa.types.is_boolean(t):
        return np.dtype(bool), t
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return np.dtype(t.to_pandas_dtype()), t
    if pa.types.is_temporal(t) and t.bit_width in (32, 64):
        base = pa.int64() if t.bit_width == 64 else pa.int32()
        return np.dtype(base.to_pandas_dtype()), base
    return None


class _NumpyColumn:
    """A fixed-width column; ``valid`` is None when it keeps no validity (empty = 0)."""

    def __init__(self, typ: pa.DataType, dtype: np.dtype, base: pa.DataType, n: int,
                 nullable: bool = True) -> None:
        self.type, self.base = typ, base
        self.values = np.zeros(n, dtype=dtype)
        self.valid: np.ndarray | None = np.zeros(n, dtype=bool) if nullable else None

    def resize(self, n: int) -> None:
        if n > len(self.values):
            self.values = grown(self.values, n)
            if self.valid is not None:
                self.valid = grown(self.valid, n, False)

    def validity(self, n: int) -> np.ndarray:
        """The validity of slots ``0 .. n - 1`` (all True without a validity array)."""
        return np.ones(n, dtype=bool) if self.valid is None else self.valid[:n]

    def to_numpy(self, arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        arr = as_array(arr)
        if arr.type != self.type:
            arr = arr.cast(self.type)
        if self.base != self.type:
            arr = arr.view(self.base)
        valid = (arr.is_valid().to_numpy(zero_copy_only=False) if arr.null_count
                 else np.ones(len(arr), dtype=bool))
        zero = False if pa.types.is_boolean(self.base) else 0
        vals = pc.fill_null(arr, zero).to_numpy(zero_copy_only=False) if arr.null_count else (
            arr.to_numpy(zero_copy_only=False))
        return vals.astype(self.values.dtype, copy=False), valid

    def from_numpy(self, vals: np.ndarray, valid: np.ndarray | None) -> pa.Array:
        mask = None if valid is None or valid.all() else ~valid
        out = pa.array(vals, type=self.base, mask=mask)
        return out.view(self.type) if self.base != self.type else out

    def get(self, slots: np.ndarray) -> pa.Array:
        valid = None if self.valid is None else self.valid[slots]
        return self.from_numpy(self.values[slots], valid)

    def set(self, slots: np.ndarray, arr: pa.Array) -> None:
        vals, valid = self.to_numpy(arr)
        self.values[slots] = vals
        if self.valid is not None:
            self.valid[slots] = valid

    def reset(self, slots: np.ndarray) -> None:
        self.values[slots] = 0
        if self.valid is not None:
            self.valid[slots] = False

    def compact(self, order: np.ndarray) -> None:
        self.values = self.values[order]
        if self.valid is not None:
            self.valid = self.valid[order]

    def insert(self, n: int, at: np.ndarray) -> None:
        self.values = np.insert(self.values[:n], at, 0)
        if self.valid is not None:
            self.valid = np.insert(self.valid[:n], at, False)

    def merge(self, slots: np.ndarray, new: pa.Array, fn: str) -> np.ndarray | None:
        """Merge ``new`` into ``slots``; for first/last returns where the new value won."""
        p, pv = self.to_numpy(new)
        if self.valid is None:  # a sum without validity (NULL inputs are 0 in ``p``)
            self.values[slots] += p.astype(self.values.dtype, copy=False)
            return None
        o, ov = self.values[slots], self.valid[slots]
        won = None
        all_new = bool(pv.all())
        if fn == "sum":
            r = o + (p if all_new else np.where(pv, p, 0)).astype(o.dtype, copy=False)
        elif fn in ("min", "max"):
            f = np.fmin if fn == "min" else np.fmax
            if o.dtype == bool:
                f = np.minimum if fn == "min" else np.maximum
            r = f(np.where(ov, o, p), p if all_new else np.where(pv, p, o))
        else:  # first / last: the smallest / largest seq wins
            won = pv & (~ov | ((p < o) if fn == "first" else (p > o)))
            r = np.where(won, p, o)
        self.values[slots] = r
        self.valid[slots] = ov | pv
        return won


class _PoolColumn:
    def __init__(self, typ: pa.DataType, n: int) -> None:
        self.type = typ
        self.refs = np.full(n, -1, dtype=np.int64)
        self.pool: list[pa.Array] = []
        self.pool_len = 0

    def resize(self, n: int) -> None:
        self.refs = grown(self.refs, n, -1)

    def _values(self) -> pa.ChunkedArray:
        if len(self.pool) > 16:
            self.pool = [pa.concat_arrays(self.pool)]
        return pa.chunked_array(self.pool, type=self.type)

    def get(self, slots: np.ndarray) -> pa.Array:
        refs = self.refs[slots]
        if not self.pool_len:
            return pa.nulls(len(refs), self.type)
        missing = refs < 0
        idx = pa.array(np.where(missing, 0, refs), mask=missing if missing.any() else None)
        return as_array(self._values().take(idx))

    def set(self, slots: np.ndarray, arr: pa.Array) -> None:
        arr = as_array(arr)
        if arr.type != self.type:
            arr = arr.cast(self.type)
        valid = arr.is_valid().to_numpy(zero_copy_only=False)
        refs = np.full(len(arr), -1, dtype=np.int64)
        nv = int(valid.sum())
        if nv:
            self.pool.append(arr.filter(pa.array(valid)) if nv < len(arr) else arr)
            refs[valid] = np.arange(self.pool_len, self.pool_len + nv)
            self.pool_len += nv
        self.refs[slots] = refs

    def reset(self, slots: np.ndarray) -> None:
        self.refs[slots] = -1

    def compact(self, order: np.ndarray) -> None:
        self.refs = self.refs[order]
        self.vacuum(len(order))

    def insert(self, n: int, at: np.ndarray) -> None:
        self.refs = np.insert(self.refs[:n], at, -1)

    def vacuum(self, size: int) -> None:
        """Drop dead pool values once they outnumber the slots."""
        if self.pool_len <= 2 * size + 1024:
            return
        live = np.flatnonzero(self.refs >= 0)
        values = as_array(self._values().take(pa.array(self.refs[live])))
        self.pool, self.pool_len = [values], len(values)
        self.refs[live] = np.arange(len(live))

    def merge(self, slots: np.ndarray, new: pa.Array, fn: str) -> np.ndarray | None:
        old = self.get(slots)
        new = as_array(new)
        n = len(slots)
        if fn in ("first", "last"):  # seqs are int64, never pooled; kept for completeness
            raise TypeError("FIRST/LAST seq columns are int64")
        pos = np.arange(n, dtype=np.int64)
        both = pa.table({"$i": np.concatenate([pos, pos]),
                         "$x": pa.concat_arrays([old, new.cast(self.type)])})
        agg = both.group_by(["$i"], use_threads=False).aggregate([("$x", fn)])
        order = np.argsort(agg.column("$i").to_numpy())
        self.set(slots, as_array(agg.column(1)).take(pa.array(order)))
        return None


Column = _NumpyColumn | _PoolColumn


class AccumulatorStore:
    """The state columns of ``accs`` (and ``extra``) for a growable range of slots."""

    def __init__(self, accs: Accumulators, extra: Sequence[tuple[str, str]] = (),
                 *, rows: str | None = None) -> None:
        self.accs = accs
        self.functions: dict[str, str] = dict(accs.state_columns())
        self.functions.update(dict(extra))
        self.zero_empty = accs.zero_when_empty()
        self.columns: dict[str, Column] = {}
        self.aliases: dict[str, str] = {}  # count column -> the rows column it shares
        self.size = 0
        if rows is not None:
            self.zero_empty.add(rows)
            self._column(rows, pa.int64())
            self.aliases = {name: rows for name in accs.count_columns()}

    def _column(self, name: str, typ: pa.DataType) -> Column:
        col = self.columns.get(name)
        if col is None:
            nt = _numpy_type(typ)
            cap = max(self.size, 1024)
            col = (_NumpyColumn(typ, nt[0], nt[1], cap, nullable=name not in self.zero_empty)
                   if nt else _PoolColumn(typ, cap))
            self.columns[name] = col
        return col

    def _resolve(self, name: str) -> Column | None:
        return self.columns.get(self.aliases.get(name, name))

    def _split_aliases(self, table: pa.Table) -> None:
        """Give every aliased count column whose values in ``table`` differ from its rows
        column's a column of its own, holding the rows column's values (module doc)."""
        names = set(table.column_names)
        counts: dict[str, np.ndarray] = {}  # rows column -> its values in ``table``
        for name, rows in list(self.aliases.items()):
            if name not in names and rows not in names:
                continue
            if rows not in counts:
                counts[rows] = _ints(table, rows)
            if not np.array_equal(_ints(table, name), counts[rows]):
                target = self.columns[rows]
                col = self._column(name, pa.int64())
                col.values = target.values.copy()
                del self.aliases[name]

    def declare(self, name: str, typ: pa.DataType) -> None:
        """Create column ``name`` of type ``typ`` now (columns are otherwise created with the
        type of the first partial that carries them)."""
        self._column(name, typ)

    def resize(self, n: int) -> None:
        """Make ``n`` slots available (new slots are empty)."""
        if n > self.size:
            for col in self.columns.values():
                col.resize(n)
            self.size = n

    def insert(self, at: np.ndarray) -> None:
        """Insert ``len(at)`` empty slots, one before each slot ``at[j]`` (``np.insert``
        positions: sorted, ``size`` appends); the slots after them shift."""
        for col in self.columns.values():
            col.insert(self.size, at)
        self.size += len(at)

    def merge(self, slots: np.ndarray, partial: pa.Table) -> None:
        """Fold ``partial`` (row i → slot ``slots[i]``, slots unique) into the state."""
        if len(slots) == 0:
            return
        if self.aliases:
            self._split_aliases(partial)
        followers: dict[str, np.ndarray | None] = {}
        for name in partial.column_names:
            fn = self.functions.get(name)
            if fn is None or fn.startswith("follow:") or name in self.aliases:
                continue
            new = as_array(partial.column(name))
            followers[name] = self._column(name, new.type).merge(slots, new, fn)
        for name in partial.column_names:
            fn = self.functions.get(name, "")
            if not fn.startswith("follow:"):
                continue
            new = as_array(partial.column(name))
            col = self._column(name, new.type)
            won = followers.get(fn[len("follow:"):])
            if won is not None and won.any():
                col.set(slots[won], new.filter(pa.array(won)))
        for col in self.columns.values():
            if isinstance(col, _PoolColumn):
                col.vacuum(self.size)

    def assign(self, slots: np.ndarray, table: pa.Table) -> None:
        """Overwrite the state of ``slots`` with ``table``'s state columns."""
        if self.aliases:
            self._split_aliases(table)
        for name in table.column_names:
            if name in self.functions and name not in self.aliases:
                new = as_array(table.column(name))
                self._column(name, new.type).set(slots, new)

    def table(self, slots: np.ndarray) -> pa.Table:
        names = [n for n in self.functions if self._resolve(n) is not None]
        cols = [self._resolve(n).get(slots) for n in names]  # type: ignore[union-attr]
        return pa.Table.from_arrays(cols, names=names) \
            if names else pa.table({"$n": pa.nulls(len(slots), pa.int8())}).drop_columns(["$n"])

    def numeric(self) -> dict[str, tuple[str, _NumpyColumn]] | None:
        """``name -> (merge function, column)`` when every column is numpy-backed and merges
        with sum / min / max (no FIRST/LAST_VALUE), else None."""
        out: dict[str, tuple[str, _NumpyColumn]] = {}
        for name in [*self.columns, *self.aliases]:
            col, fn = self._resolve(name), self.functions.get(name, "")
            if not isinstance(col, _NumpyColumn) or fn not in ("sum", "min", "max"):
                return None
            out[name] = (fn, col)
        return out

    def numpy(self, name: str) -> np.ndarray | None:
        """The raw value array of a fixed-width column (0 where empty), or None."""
        col = self._resolve(name)
        return col.values if isinstance(col, _NumpyColumn) else None

    def reset(self, slots: np.ndarray) -> None:
        for col in self.columns.values():
            col.reset(slots)

    def compact(self, order: np.ndarray) -> None:
        for col in self.columns.values():
            col.compact(order)
            col.resize(len(order))
        self.size = len(order)


def _ints(table: pa.Table, name: str) -> np.ndarray:
    """Column ``name`` of ``table`` as int64 values (NULL and a missing column: 0)."""
    if name not in table.column_names:
        return np.zeros(table.num_rows, dtype=np.int64)
    arr = as_array(table.column(name))
    if arr.null_count:
        arr = pc.fill_null(arr, 0)
    return arr.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
