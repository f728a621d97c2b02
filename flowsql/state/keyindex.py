"""Dense key ids: a vectorized dictionary from key tuples to ids ``0 .. size - 1``.

Contract:
- ``KeyIndex(names).lookup(table)`` returns an int64 id for every row of ``table`` (its
  ``names`` columns); unknown keys get the next ids, in first-seen order (except that the
  NULL key of a single fixed-width column is numbered after the other new keys of the same
  lookup); with ``insert=False`` unknown keys get -1.
- Key equality is pyarrow ``group_by``'s: NULL equals NULL, floats compare by bit pattern
  with every NaN equal (so ``0.0`` and ``-0.0`` are two keys, as ``group_by`` keeps them
  apart). Hence the distinct rows of a ``group_by`` result always get distinct ids.
- :func:`identity_columns` flattens ROW columns so whole rows can be keys.
- :meth:`keys` returns the key columns of given ids (one chunk per column); :meth:`retain` drops ids and renumbers
  the survivors keeping their order (so sorted id arrays stay sorted after remapping).
- A lookup costs O(rows · log size); a new key costs O(log size) amortized — never a
  rebuild of a hash table over all known keys, nor an O(size) copy per batch.

Why hand-written: pyarrow's ``index_in`` / joins rebuild a hash table of the whole value set
on every call (O(state) per batch, ~100 ms for a million keys) and numpy has no persistent
hash map. Here every row gets a 64-bit code, looked up in a persistent vectorized hash map of
known codes (:class:`~flowsql.state.codetable.CodeTable`: O(rows) per lookup, O(1) amortized
per new key). Key rows are kept in id order in geometrically merged pieces
(:mod:`flowsql.state.pieces`). A single integer / temporal / boolean / float key column is its own
exact code (NULL gets a dedicated id). Other keys are hashed: each lookup then verifies the
stored key equals the row's key (vectorized), and the rows whose hash collides with a
different key — practically never, 64-bit hashes — resolve through a small exact dict.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.state.codetable import CodeTable
from flowsql.state.keygroups import bytes_hash, mix64
from flowsql.state.pieces import add_piece, piece_starts, take_pieces

_NULL_CODE = np.uint64(0x9E3779B97F4A7C15)
_NAN_BITS = np.float64("nan").view(np.uint64)


def _array(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    return col


def _unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(values, return_index=True, return_inverse=True)`` (non-empty ``values``)
    with numpy's default (SIMD, unstable) argsort: about 5x faster than the stable sort
    ``np.unique`` needs for ``return_index``; the first index of each value is taken as the
    least position of its run instead."""
    order = np.argsort(values)
    ordered = values[order]
    flag = np.empty(len(values), dtype=bool)
    flag[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=flag[1:])
    starts = np.flatnonzero(flag)
    inv = np.empty(len(values), dtype=np.int64)
    inv[order] = np.cumsum(flag) - 1
    return ordered[starts], np.minimum.reduceat(order, starts), inv


def _exact_type(t: pa.DataType) -> bool:
    return (pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_floating(t)
            or pa.types.is_temporal(t))


def raw_bits(arr: pa.Array) -> np.ndarray:
    """The value bits of a fixed-width column as uint64 (NULL slots 0; every NaN alike)."""
    t = arr.type
    if pa.types.is_floating(t):
        f = pc.fill_null(arr.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        bits = f.view(np.uint64).copy()
        bits[np.isnan(f)] = _NAN_BITS
        return bits
    if pa.types.is_temporal(t):
        arr = arr.view(pa.int64() if t.bit_width == 64 else pa.int32())
        t = arr.type
    if t == pa.uint64():
        arr = arr.view(pa.int64())
    elif t != pa.int64():
        arr = arr.cast(pa.int64())
    return pc.fill_null(arr, 0).to_numpy(zero_copy_only=False).view(np.uint64)


def _column_code(arr: pa.Array) -> np.ndarray:
    t = arr.type
    if pa.types.is_null(t):
        return np.full(len(arr), _NULL_CODE, dtype=np.uint64)
    if _exact_type(t):
        h = raw_bits(arr)
    elif pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t) or (
        pa.types.is_large_binary(t)
    ):
        h = bytes_hash(arr)
    else:
        h = bytes_hash(arr.cast(pa.string()))
    h = mix64(h)
    if arr.null_count:
        h = np.where(arr.is_null().to_numpy(zero_copy_only=False), _NULL_CODE, h)
    return h


def _same_column(a: pa.Array, b: pa.Array) -> np.ndarray:
    """Null-safe, bit-exact equality of two aligned columns."""
    an = a.is_null().to_numpy(zero_copy_only=False)
    bn = b.is_null().to_numpy(zero_copy_only=False)
    if _exact_type(a.type) and _exact_type(b.type):
        eq = raw_bits(a) == raw_bits(b)
    else:
        try:
            eq = pc.fill_null(pc.equal(a, b), False).to_numpy(zero_copy_only=False)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            eq = pc.fill_null(pc.equal(a.cast(pa.string()), b.cast(pa.string())),
                              False).to_numpy(zero_copy_only=False)
    return (eq & ~an & ~bn) | (an & bn)


def _py_key(values: tuple) -> tuple:
    """A dict key equal exactly when the Arrow keys are equal (floats by bit pattern)."""
    return tuple(("f", v.hex()) if isinstance(v, float) else v for v in values)


class KeyIndex:
    """Key tuples of ``names`` ⇄ dense int64 ids."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.size = 0
        self._codes = CodeTable()  # code → id of every key that has a code
        self._pieces: list[pa.Table] = []  # key rows in id order
        self._starts = np.zeros(0, dtype=np.int64)  # first id of each piece
        self._null_id = -1  # exact mode: the id of the NULL key
        self._overflow: dict[tuple, int] = {}  # hash mode: keys whose code another key owns
        self._exact: bool | None = None

    # -- lookup --------------------------------------------------------------------------
    def lookup(self, table: pa.Table | pa.RecordBatch, *, insert: bool = True) -> np.ndarray:
        n = table.num_rows
        if not self.names:
            if insert and n and self.size == 0:
                self.size = 1
            return np.zeros(n, dtype=np.int64) if self.size else np.full(n, -1, dtype=np.int64)
        if n == 0:
            return np.empty(0, dtype=np.int64)
        cols = [_array(table.column(k)) for k in self.names]
        if self._exact is None:
            self._exact = len(cols) == 1 and _exact_type(cols[0].type)
        if self._exact:
            return self._lookup_exact(cols[0], insert)
        return self._lookup_hashed(cols, insert)

    def _keys_table(self, cols: list[pa.Array]) -> pa.Table:
        return pa.Table.from_arrays(cols, names=self.names)

    def _add(self, codes: np.ndarray | None, rows: pa.Table) -> np.ndarray:
        """Append ``rows`` as new keys; ``codes`` (unique, unknown) go into the code table."""
        m = rows.num_rows
        new = np.arange(self.size, self.size + m, dtype=np.int64)
        if codes is not None and m:
            self._codes.insert(codes, new)
        add_piece(self._pieces, rows.select(self.names))
        self._starts = piece_starts(self._pieces)
        self.size += m
        return new

    def _lookup_exact(self, col: pa.Array, insert: bool) -> np.ndarray:
        n = len(col)
        ids = np.full(n, -1, dtype=np.int64)
        nulls = col.is_null().to_numpy(zero_copy_only=False) if col.null_count else None
        codes = raw_bits(col)
        rows = np.flatnonzero(~nulls) if nulls is not None else None
        vc = codes[rows] if rows is not None else codes
        if len(vc):
            u, first, inv = _unique(vc)
            uid = self._codes.find(u)
            if insert:
                new = np.flatnonzero(uid < 0)
                new = new[np.argsort(first[new])]  # first-seen order (positions are unique)
                if len(new):
                    src = first[new] if rows is None else rows[first[new]]
                    uid[new] = self._add(u[new], self._keys_table([col.take(pa.array(src))]))
            if rows is None:
                ids = uid[inv.reshape(-1)]
            else:
                ids[rows] = uid[inv.reshape(-1)]
        if nulls is not None:
            if self._null_id < 0 and insert:
                first_null = int(np.flatnonzero(nulls)[0])
                self._null_id = int(self._add(None, self._keys_table(
                    [col.take(pa.array([first_null]))]))[0])
            ids[nulls] = self._null_id
        return ids

    def _lookup_hashed(self, cols: list[pa.Array], insert: bool) -> np.ndarray:
        n = len(cols[0])
        h = np.zeros(n, dtype=np.uint64)
        for c in cols:
            h = mix64(h * np.uint64(31) + _column_code(c))
        u, first, inv = _unique(h)
        uid = self._codes.find(u)
        table = self._keys_table(cols)
        if insert:
            new = np.flatnonzero(uid < 0)
            new = new[np.argsort(first[new])]  # first-seen order (positions are unique)
            if len(new):
                uid[new] = self._add(u[new], table.take(pa.array(first[new])))
        ids = uid[inv.reshape(-1)]
        # verify: the stored key of every found id must equal the row's key
        known = np.flatnonzero(ids >= 0)
        if len(known):
            stored = self.keys(ids[known])
            same = np.ones(len(known), dtype=bool)
            for k, c in zip(self.names, cols, strict=True):
                same &= _same_column(_array(stored.column(k)), c.take(pa.array(known)))
            bad = known[~same]
            if len(bad):
                ids[bad] = self._resolve_collisions(table.take(pa.array(bad)), insert)
        return ids

    def _resolve_collisions(self, rows: pa.Table, insert: bool) -> np.ndarray:
        """Exact ids of rows whose hash code belongs to another key (per-row, but only ever
        for genuine 64-bit hash collisions)."""
        out = np.empty(rows.num_rows, dtype=np.int64)
        values = [rows.column(k).to_pylist() for k in self.names]
        for r, key in enumerate(zip(*values, strict=True)):
            pk = _py_key(key)
            found = self._overflow.get(pk)
            if found is None:
                if not insert:
                    out[r] = -1
                    continue
                found = int(self._add(None, rows.slice(r, 1))[0])
                self._overflow[pk] = found
            out[r] = found
        return out

    # -- access and maintenance ----------------------------------------------------------
    def keys(self, ids: np.ndarray) -> pa.Table:
        """Key columns (one row per id, in the given order)."""
        if not self.names:
            return pa.table({})
        if not self._pieces:
            return pa.table({k: pa.array([], pa.null()) for k in self.names}).slice(0, 0)
        out = take_pieces(self._pieces, ids, self._starts)
        # one chunk per column, as a take on one table gives (callers zip columns with arrays)
        return out.combine_chunks() if any(c.num_chunks > 1 for c in out.columns) else out

    def retain(self, keep: np.ndarray) -> np.ndarray:
        """Keep the ids where ``keep`` (bool, length ``size``) is True; survivors are
        renumbered in order. Returns the old → new id map (-1 for dropped ids)."""
        keep = np.asarray(keep, dtype=bool)
        remap = np.full(self.size, -1, dtype=np.int64)
        remap[keep] = np.arange(int(keep.sum()), dtype=np.int64)
        if not self.names:
            self.size = int(keep.sum())
            return remap
        self._codes.filter(remap)
        if self._pieces:
            stored = pa.concat_tables(self._pieces, promote_options="permissive")
            self._pieces = [stored.filter(pa.array(keep)).combine_chunks()]
            self._starts = piece_starts(self._pieces)
        if self._null_id >= 0:
            self._null_id = int(remap[self._null_id])
        self._overflow = {k: int(remap[v]) for k, v in self._overflow.items() if keep[v]}
        self.size = int(keep.sum())
        return remap


def identity_columns(table: pa.Table) -> dict[str, pa.Array]:
    """Columns that identify ``table``'s rows for a :class:`KeyIndex` over whole rows: a ROW
    (struct) column becomes its validity plus its fields, recursively (KeyIndex hashes flat
    columns only)."""
    out: dict[str, pa.Array] = {}

    def add(name: str, arr: pa.Array) -> None:
        if pa.types.is_struct(arr.type):
            out[f"{name}.$valid"] = arr.is_valid()
            for i, f in enumerate(arr.type):
                add(f"{name}.{f.name}", arr.field(i))
        else:
            out[name] = arr

    for name in table.column_names:
        add(name, _array(table.column(name)))
    return out
