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
- :meth:`keys` returns the key columns of given ids; :meth:`retain` drops ids and renumbers
  the survivors keeping their order (so sorted id arrays stay sorted after remapping).
- A lookup costs O(rows · log size) plus an O(size) memmove when new keys arrive — never a
  rebuild of a hash table over all known keys.

Why hand-written: pyarrow's ``index_in`` / joins rebuild a hash table of the whole value set
on every call (O(state) per batch, ~100 ms for a million keys) and numpy has no persistent
hash map. Here every row gets a 64-bit code, looked up with ``np.searchsorted`` in a sorted
array of known codes. A single integer / temporal / boolean / float key column is its own
exact code (NULL gets a dedicated id). Other keys are hashed: each lookup then verifies the
stored key equals the row's key (vectorized), and the rows whose hash collides with a
different key — practically never, 64-bit hashes — resolve through a small exact dict.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.state.keygroups import bytes_hash

_NULL_CODE = np.uint64(0x9E3779B97F4A7C15)
_NAN_BITS = np.float64("nan").view(np.uint64)
_MAX_CHUNKS = 16


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer (wrapping uint64 arithmetic)."""
    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def _array(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    return col


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
    h = _mix(h)
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
        self._codes = np.empty(0, dtype=np.uint64)  # sorted
        self._ids = np.empty(0, dtype=np.int64)  # id of each code in _codes
        self._chunks: list[pa.Table] = []  # key rows in id order
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

    def _find(self, codes: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self._codes, codes)
        ok = pos < len(self._codes)
        pos = np.where(ok, pos, 0)
        hit = ok & (self._codes[pos] == codes) if len(self._codes) else ok
        return np.where(hit, self._ids[pos] if len(self._ids) else -1, -1)

    def _add(self, codes: np.ndarray | None, rows: pa.Table) -> np.ndarray:
        """Append ``rows`` as new keys; ``codes`` (unique, unknown) go into the sorted index."""
        m = rows.num_rows
        new = np.arange(self.size, self.size + m, dtype=np.int64)
        if codes is not None and m:
            order = np.argsort(codes, kind="stable")
            cs = codes[order]
            at = np.searchsorted(self._codes, cs)
            self._codes = np.insert(self._codes, at, cs)
            self._ids = np.insert(self._ids, at, new[order])
        self._chunks.append(rows.select(self.names))
        if len(self._chunks) > _MAX_CHUNKS:
            self._chunks = [self._stored().combine_chunks()]
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
            u, first, inv = np.unique(vc, return_index=True, return_inverse=True)
            uid = self._find(u)
            if insert:
                new = np.flatnonzero(uid < 0)
                new = new[np.argsort(first[new], kind="stable")]  # first-seen order
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
            h = _mix(h * np.uint64(31) + _column_code(c))
        u, first, inv = np.unique(h, return_index=True, return_inverse=True)
        uid = self._find(u)
        table = self._keys_table(cols)
        if insert:
            new = np.flatnonzero(uid < 0)
            new = new[np.argsort(first[new], kind="stable")]  # first-seen order
            if len(new):
                uid[new] = self._add(u[new], table.take(pa.array(first[new])))
        ids = uid[inv.reshape(-1)]
        # verify: the stored key of every found id must equal the row's key
        known = np.flatnonzero(ids >= 0)
        if len(known):
            stored = self._stored().take(pa.array(ids[known]))
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
    def _stored(self) -> pa.Table:
        if len(self._chunks) == 1:
            return self._chunks[0]
        return pa.concat_tables(self._chunks, promote_options="permissive")

    def keys(self, ids: np.ndarray) -> pa.Table:
        """Key columns (one row per id, in the given order)."""
        if not self.names:
            return pa.table({})
        if not self._chunks:
            return pa.table({k: pa.array([], pa.null()) for k in self.names}).slice(0, 0)
        return self._stored().take(pa.array(ids, pa.int64()))

    def retain(self, keep: np.ndarray) -> np.ndarray:
        """Keep the ids where ``keep`` (bool, length ``size``) is True; survivors are
        renumbered in order. Returns the old → new id map (-1 for dropped ids)."""
        keep = np.asarray(keep, dtype=bool)
        remap = np.full(self.size, -1, dtype=np.int64)
        remap[keep] = np.arange(int(keep.sum()), dtype=np.int64)
        if not self.names:
            self.size = int(keep.sum())
            return remap
        live = keep[self._ids] if len(self._ids) else np.zeros(0, dtype=bool)
        self._codes = self._codes[live]
        self._ids = remap[self._ids[live]]
        self._chunks = [self._stored().filter(pa.array(keep)).combine_chunks()]
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
