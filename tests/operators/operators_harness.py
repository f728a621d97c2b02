"""Shared helpers for the operator tests: random streams, a driver, and comparison utilities."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
import pyarrow as pa
from hypothesis import strategies as st

from flowsql.messages import MAX_WATERMARK, ROW_KIND, Watermark
from flowsql.operators.base import ListCollector, Operator, OperatorContext

KEYS = st.sampled_from(["a", "b", "c", "dd", None])
K2 = st.sampled_from([1, 2, None])
VALUES = st.one_of(st.none(), st.integers(-5, 20))
FLAGS = st.one_of(st.none(), st.booleans())


@st.composite
def streams(draw, max_rows: int = 60, max_ts: int = 300, bound_max: int = 30):
    """(table in arrival order, out-of-orderness bound, batch split points)."""
    n = draw(st.integers(0, max_rows))
    bound = draw(st.integers(1, bound_max))
    rows = draw(st.lists(st.tuples(KEYS, K2, st.integers(0, max_ts), VALUES, FLAGS,
                                   st.integers(0, bound - 1)), min_size=n, max_size=n))
    # arrival order = ts + jitter, jitter < bound: disorder is bounded by `bound`
    rows.sort(key=lambda r: r[2] + r[5])
    table = pa.table({
        "k": pa.array([r[0] for r in rows], pa.string()),
        "k2": pa.array([r[1] for r in rows], pa.int32()),
        "ts": pa.array([r[2] for r in rows], pa.timestamp("ms")),
        "v": pa.array([r[3] for r in rows], pa.int64()),
        "flag": pa.array([r[4] for r in rows], pa.bool_()),
        "id": pa.array(np.arange(n), pa.int64()),
    })
    cuts = sorted(set(draw(st.lists(st.integers(0, n), max_size=6))))
    return table, bound, cuts


def split(table: pa.Table, cuts: list[int]) -> list[pa.RecordBatch]:
    bounds = [0, *cuts, table.num_rows]
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if hi > lo:
            out.extend(table.slice(lo, hi - lo).combine_chunks().to_batches())
    return out


def bounded_watermarks(batches: list[pa.RecordBatch], bound: int, lag: int | None = None):
    """Watermark after each batch: max ts seen - bound (never decreasing)."""
    wms, top = [], None
    for b in batches:
        ts = b.column("ts").cast(pa.int64()).to_numpy()
        if len(ts):
            top = int(ts.max()) if top is None else max(top, int(ts.max()))
        wms.append(None if top is None else top - (bound if lag is None else lag))
    return wms


def drive(
    make: Callable[[], Operator],
    batches: list[pa.RecordBatch],
    watermarks: list[int | None],
    *,
    snapshot_after: int | None = None,
    late: ListCollector | None = None,
) -> tuple[ListCollector, Operator]:
    """Feed batches and watermarks, then the final MAX watermark and close().

    With ``snapshot_after=i`` the operator is snapshotted after batch i (and its watermark)
    and replaced by a fresh one restored from the snapshot.
    """
    out = ListCollector()
    op = make()
    op.open(OperatorContext("op-1"))
    for i, (b, wm) in enumerate(zip(batches, watermarks, strict=True)):
        op.process_batch(b, out)
        if wm is not None:
            op.on_watermark(Watermark(wm), out)
        if snapshot_after == i:
            snap = op.snapshot(1)
            metrics = op.ctx.metrics
            op = make()
            op.open(OperatorContext("op-1", metrics=metrics))
            op.restore(snap)
    op.on_watermark(Watermark(MAX_WATERMARK), out)
    op.close(out)
    return out, op


def rows_of(table: pa.Table, columns: list[str]) -> list[tuple]:
    """Rows as comparable tuples (timestamps → int ms, floats rounded)."""
    if table.num_rows == 0:
        return []
    cols = []
    for c in columns:
        col = table.column(c)
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.int64())
        vals = col.to_pylist()
        if pa.types.is_decimal(col.type):
            vals = [None if x is None else (int(x) if x == int(x) else float(x)) for x in vals]
        if pa.types.is_floating(col.type):
            vals = [None if x is None else round(x, 6) for x in vals]
        cols.append(vals)
    return sorted(zip(*cols, strict=True), key=repr) if cols else []


def oracle(sql: str, **tables: pa.Table) -> pa.Table:
    con = duckdb.connect()
    for name, t in tables.items():
        con.register(name, t)
    return con.sql(sql).to_arrow_table()


def changelog_batch(schema: pa.Schema, rows: list[tuple], kinds: list[int] | None = None) -> pa.RecordBatch:
    """``rows`` of ``schema``, with a ``$row_kind`` column when ``kinds`` are given."""
    cols = [pa.array([r[i] for r in rows], f.type) for i, f in enumerate(schema)]
    names = schema.names
    if kinds is not None:
        cols.append(pa.array(kinds, pa.int8()))
        names = [*names, ROW_KIND]
    return pa.RecordBatch.from_arrays(cols, names=names)


def changes(out: ListCollector) -> list[tuple]:
    """Emitted rows as ``(kind, *values)`` with kinds written +I / -U / +U / -D."""
    rows = out.table().to_pylist() if out.batches else []
    return [(("+I", "-U", "+U", "-D")[r.pop(ROW_KIND)], *r.values()) for r in rows]


def split_state(state: dict[str, pa.Table], keys: list[str], parallelism: int) -> list[dict[str, pa.Table]]:
    """A snapshot split by key group as a rescaled restore does (``meta`` goes to every
    subtask), one state per subtask."""
    from flowsql.state.keygroups import filter_key_groups, key_group_range

    return [{n: t if n == "meta" else filter_key_groups(t, keys, key_group_range(i, parallelism))
             for n, t in state.items()} for i in range(parallelism)]


def route(batch: pa.RecordBatch, keys: list[str], parallelism: int) -> list[pa.RecordBatch]:
    """The rows of ``batch`` each subtask gets from a hash exchange on ``keys``."""
    from flowsql.state.keygroups import key_group_range, key_groups

    kg = key_groups(batch, keys)
    return [batch.filter(pa.array((kg >= lo) & (kg < hi)))
            for lo, hi in (key_group_range(i, parallelism) for i in range(parallelism))]
