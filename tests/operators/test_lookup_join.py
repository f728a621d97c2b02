"""The lookup join operator on its own, over an in-memory lookup source: INNER and LEFT
joins with several matches per key, missing and NULL keys, a residual condition, a
changelog input keeping its row kinds, and an empty snapshot (stateless)."""

from __future__ import annotations

import pyarrow as pa

from connectors.lookup import FullCache
from flowsql.messages import ROW_KIND
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.lookup_join import LookupJoinOperator, LookupJoinSpec

SIDE = pa.table({"id": pa.array([1, 2, 2, 3], pa.int64()), "name": ["a", "b1", "b2", "c"]})
OUT = pa.schema([("k", pa.int64()), ("v", pa.int64()), ("id", pa.int64()), ("name", pa.string())])


def op(join_type: str = "INNER", residual=None) -> tuple[LookupJoinOperator, FullCache]:
    cache = FullCache(lambda: SIDE, ["id"], reload_ms=10**9)
    spec = LookupJoinSpec(join_type, ("k",), ("id",), (("id", "id"), ("name", "name")))
    o = LookupJoinOperator(spec, lambda: cache, OUT, residual=residual)
    o.open(OperatorContext("lookup-join"))
    return o, cache


def run(o: LookupJoinOperator, batch: pa.RecordBatch) -> list[dict]:
    out = ListCollector()
    o.process_batch(batch, out)
    return [r for b in out.batches for r in b.to_pylist()]


def probe(ks: list, vs: list) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"k": pa.array(ks, pa.int64()), "v": pa.array(vs, pa.int64())})


def test_inner_join_keeps_input_order_and_every_match():
    o, cache = op()
    rows = run(o, probe([2, 9, None, 1], [10, 11, 12, 13]))
    assert [(r["k"], r["v"], r["name"]) for r in rows] == [(2, 10, "b1"), (2, 10, "b2"), (1, 13, "a")]
    assert cache.loads == 1 and o.ctx.metrics.records_out == 3


def test_left_join_pads_missing_and_null_keys_with_nulls():
    o, _ = op("LEFT")
    rows = run(o, probe([2, 9, None, 1], [10, 11, 12, 13]))
    assert [(r["k"], r["v"], r["id"], r["name"]) for r in rows] == [
        (2, 10, 2, "b1"), (2, 10, 2, "b2"), (9, 11, None, None), (None, 12, None, None), (1, 13, 1, "a")]


def test_residual_filters_pairs_and_a_left_join_pads_rows_left_without_a_pair():
    def residual(b: pa.RecordBatch) -> pa.Array:  # name <> 'b1' AND v < 13
        import pyarrow.compute as pc

        return pc.and_(pc.not_equal(b.column("name"), "b1"), pc.less(b.column("v"), 13))

    inner, _ = op("INNER", residual)
    assert [(r["k"], r["name"]) for r in run(inner, probe([2, 1], [10, 13]))] == [(2, "b2")]
    left, _ = op("LEFT", residual)
    assert [(r["k"], r["name"]) for r in run(left, probe([2, 1], [10, 13]))] == [(2, "b2"), (1, None)]


def test_changelog_input_keeps_its_row_kinds_and_nothing_is_snapshotted():
    o, _ = op("LEFT")
    batch = probe([1, 2, 7], [1, 2, 3]).append_column(ROW_KIND, pa.array([0, 3, 1], pa.int8()))
    out = ListCollector()
    o.process_batch(batch, out)
    got = pa.Table.from_batches(out.batches)
    assert got.column_names == [*OUT.names, ROW_KIND]
    assert list(zip(got.column("k").to_pylist(), got.column(ROW_KIND).to_pylist(), strict=True)) == [
        (1, 0), (2, 3), (2, 3), (7, 1)]
    assert o.snapshot(1) == {}
