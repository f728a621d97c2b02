"""TUMBLE / HOP / CUMULATE window aggregation against a DuckDB oracle over the same rows."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from operators_harness import bounded_watermarks, drive, oracle, rows_of, split, streams

from flowsql.errors import NotSupportedError
from flowsql.messages import Watermark
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.specs import AggCall, WindowAggregateSpec, WindowSpec
from flowsql.operators.window_aggregate import WindowAggregateOperator
from tests.examples import examples

AGGS = (
    AggCall("COUNT_STAR", None, "cnt"),
    AggCall("COUNT", "v", "cnt_v"),
    AggCall("SUM", "v", "sum_v"),
    AggCall("AVG", "v", "avg_v"),
    AggCall("MIN", "v", "min_v"),
    AggCall("MAX", "v", "max_v"),
    AggCall("FIRST_VALUE", "v", "first_v"),
    AggCall("LAST_VALUE", "v", "last_v"),
    AggCall("COUNT", "v", "cnt_dist", distinct=True),
    AggCall("SUM", "v", "sum_dist", distinct=True),
    AggCall("COUNT_STAR", None, "cnt_flag", filter="flag"),
    AggCall("SUM", "v", "sum_flag", filter="flag"),
)
ORACLE_AGGS = """
    count(*) AS cnt, count(v) AS cnt_v, sum(v) AS sum_v, avg(v) AS avg_v,
    min(v) AS min_v, max(v) AS max_v,
    arg_min(v, id) FILTER (WHERE v IS NOT NULL) AS first_v,
    arg_max(v, id) FILTER (WHERE v IS NOT NULL) AS last_v,
    count(DISTINCT v) AS cnt_dist, sum(DISTINCT v) AS sum_dist,
    count(*) FILTER (WHERE flag) AS cnt_flag, sum(v) FILTER (WHERE flag) AS sum_flag
"""
OUT = ["window_start", "window_end", "window_time", *(a.output for a in AGGS)]

WINDOWS = {
    "tumble": WindowSpec("TUMBLE", "ts", size_ms=20),
    "tumble_offset": WindowSpec("TUMBLE", "ts", size_ms=25, offset_ms=7),
    "hop": WindowSpec("HOP", "ts", size_ms=30, slide_ms=10),
    "hop_gcd": WindowSpec("HOP", "ts", size_ms=25, slide_ms=10),
    "cumulate": WindowSpec("CUMULATE", "ts", size_ms=40, step_ms=10),
}


def window_oracle(w: WindowSpec, table: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    o = w.offset_ms
    t = "epoch_ms(ts)"
    if w.kind == "TUMBLE":
        win = f"SELECT *, CAST(floor(({t} - {o}) / {w.size_ms}) AS BIGINT) * {w.size_ms} + {o} AS ws, ws + {w.size_ms} AS we FROM t"
    elif w.kind == "HOP":
        last = f"CAST(floor(({t} - {o}) / {w.slide_ms}) AS BIGINT) * {w.slide_ms} + {o}"
        win = (f"SELECT * EXCLUDE (s), s AS ws, s + {w.size_ms} AS we FROM (SELECT *, "
               f"unnest(generate_series({last} - {w.slide_ms} * {w.size_ms // w.slide_ms + 1}, {last}, {w.slide_ms})) AS s FROM t) "
               f"WHERE s <= {t} AND s + {w.size_ms} > {t}")
    else:
        start = f"CAST(floor(({t} - {o}) / {w.size_ms}) AS BIGINT) * {w.size_ms} + {o}"
        first_end = f"CAST(floor(({t} - {o}) / {w.step_ms}) AS BIGINT) * {w.step_ms} + {o} + {w.step_ms}"
        win = (f"SELECT *, {start} AS ws, unnest(generate_series({first_end}, {start} + {w.size_ms}, {w.step_ms})) AS we FROM t")
    group = ", ".join([*keys, "ws", "we"])
    sel = ", ".join([*keys, "ws AS window_start", "we AS window_end", "we - 1 AS window_time"])
    return oracle(f"SELECT {sel}, {ORACLE_AGGS} FROM ({win}) GROUP BY {group}", t=table)


def make(w: WindowSpec, keys: tuple[str, ...], late: ListCollector | None = None):
    spec = WindowAggregateSpec(w, keys, AGGS, ("window_start", "window_end", "window_time"))
    return lambda: WindowAggregateOperator(spec, late_out=late)


@pytest.mark.parametrize("name", sorted(WINDOWS))
@pytest.mark.parametrize("keys", [(), ("k",), ("k", "k2")])
@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=streams())
def test_matches_duckdb(name, keys, data):
    table, bound, cuts = data
    w = WINDOWS[name]
    batches = split(table, cuts)
    wms = bounded_watermarks(batches, bound)
    out, op = drive(make(w, keys), batches, wms)
    assert op.ctx.metrics.late_records_dropped == 0
    cols = [*keys, *OUT]
    expected = window_oracle(w, table, keys)
    assert rows_of(out.table(), cols) == rows_of(expected, cols)


PLAIN = tuple(a for a in AGGS if not a.distinct)


class _CheckedFire(WindowAggregateOperator):
    """Fires all windows of a step at once (the operator's path without DISTINCT) and checks
    the batch against firing window by window: same rows, same order."""

    def _fire(self, lo, hi):
        import numpy as np

        got = super()._fire(lo, hi)
        ends = np.array(sorted(self.slices), dtype=np.int64)
        rows, wends = self.assigner.expand(ends, lo, hi)
        want = self._fire_each(ends, rows, wends) if len(rows) else None
        if want is not None and want.num_rows == 0:
            want = None
        assert (got is None) == (want is None)
        if got is not None:
            assert got.to_pylist() == want.to_pylist()
        return got


NUMERIC = tuple(a for a in PLAIN if a.function not in ("FIRST_VALUE", "LAST_VALUE"))


@pytest.mark.parametrize("name", sorted(WINDOWS))
@pytest.mark.parametrize("keys", [(), ("k",), ("k2",), ("k", "k2")])
@pytest.mark.parametrize("aggs", ["plain", "numeric"])
@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=streams())
def test_all_windows_of_a_step_fire_at_once_as_one_by_one(name, keys, aggs, data):
    # "numeric": every state column merges in numpy (slice_state.merge_windows);
    # "plain" has FIRST/LAST_VALUE states, merged with one Accumulators.merge group-by
    table, bound, cuts = data
    w = WINDOWS[name]
    calls = PLAIN if aggs == "plain" else NUMERIC
    batches = split(table, cuts)
    spec = WindowAggregateSpec(w, keys, calls, ("window_start", "window_end", "window_time"))
    out, _ = drive(lambda: _CheckedFire(spec), batches, bounded_watermarks(batches, bound))
    cols = [*keys, "window_start", "window_end", "window_time", *(a.output for a in calls)]
    got = rows_of(out.table(), cols)
    expected = rows_of(window_oracle(w, table, keys), [*keys, *OUT])
    keep = list(range(len(keys) + 3)) + [OUT.index(a.output) + len(keys) for a in calls]
    assert got == [tuple(r[i] for i in keep) for r in expected]


@pytest.mark.parametrize("name", sorted(WINDOWS))
@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=streams(), at=st.integers(0, 8))
def test_snapshot_restore_mid_stream(name, data, at):
    table, bound, cuts = data
    w = WINDOWS[name]
    batches = split(table, cuts)
    wms = bounded_watermarks(batches, bound)
    full, _ = drive(make(w, ("k",)), batches, wms)
    resumed, _ = drive(make(w, ("k",)), batches, wms, snapshot_after=min(at, len(batches) - 1))
    assert [b.to_pylist() for b in resumed.batches] == [b.to_pylist() for b in full.batches]


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=streams(), lag=st.integers(-10, 5))
def test_tumble_late_rows_go_to_side_output(data, lag):
    """With an aggressive watermark some rows are late: they are counted, emitted unchanged
    to late_out, and the output equals the oracle over the on-time rows."""
    table, bound, cuts = data
    w = WINDOWS["tumble"]
    batches = split(table, cuts)
    wms = bounded_watermarks(batches, bound, lag=lag)
    late = ListCollector()
    out, op = drive(make(w, ("k",), late), batches, wms)
    late_t = late.table(table.schema)
    assert op.ctx.metrics.late_records_dropped == late_t.num_rows
    assert late_t.schema == table.schema
    on_time = table.filter(pa.compute.invert(pa.compute.is_in(table["id"], late_t["id"])))
    cols = ["k", *OUT]
    assert rows_of(out.table(), cols) == rows_of(window_oracle(w, on_time, ("k",)), cols)


def _batch(ts, k=None, v=None):
    n = len(ts)
    return pa.record_batch({
        "k": pa.array(k or ["a"] * n, pa.string()),
        "ts": pa.array(ts, pa.timestamp("ms")),
        "v": pa.array(v or [1] * n, pa.int64()),
    })


def test_hop_row_late_only_for_fired_windows():
    spec = WindowAggregateSpec(WindowSpec("HOP", "ts", size_ms=10, slide_ms=5), ("k",),
                               (AggCall("COUNT_STAR", None, "c"),))
    late = ListCollector()
    op = WindowAggregateOperator(spec, late_out=late)
    op.open(OperatorContext("hop"))
    out = ListCollector()
    op.process_batch(_batch([1, 6]), out)
    op.on_watermark(Watermark(9), out)  # fires [0,10) and [-5,5)
    fired = rows_of(out.table(), ["window_start", "window_end", "c"])
    assert fired == [(-5, 5, 1), (0, 10, 2)]
    op.process_batch(_batch([2, 7]), out)  # ts=2 is late ([-5,5),[0,10) fired); 7 is in [5,15)
    assert op.ctx.metrics.late_records_dropped == 1
    assert late.table().column("ts").cast(pa.int64()).to_pylist() == [2]
    op.on_watermark(Watermark(100), out)
    rows = rows_of(out.table(), ["window_start", "window_end", "c"])
    assert (5, 15, 2) in rows and (10, 20, 0) not in rows


def test_watermark_not_advancing_fires_nothing_twice():
    spec = WindowAggregateSpec(WindowSpec("TUMBLE", "ts", size_ms=10), (),
                               (AggCall("COUNT_STAR", None, "c"),))
    op = WindowAggregateOperator(spec)
    op.open(OperatorContext("t"))
    out = ListCollector()
    op.process_batch(_batch([1, 2, 15]), out)
    op.on_watermark(Watermark(9), out)
    op.on_watermark(Watermark(9), out)
    op.on_watermark(Watermark(5), out)
    assert rows_of(out.table(), ["window_end", "c"]) == [(10, 2)]
    assert op.snapshot(1)["slices"].num_rows == 1  # [0,10) evicted, [10,20) kept


def test_changelog_input_refused():
    spec = WindowAggregateSpec(WindowSpec("TUMBLE", "ts", size_ms=10), (),
                               (AggCall("COUNT_STAR", None, "c"),))
    op = WindowAggregateOperator(spec)
    op.open(OperatorContext("t"))
    b = _batch([1]).append_column("$row_kind", pa.array([0], pa.int8()))
    with pytest.raises(NotSupportedError):
        op.process_batch(b, ListCollector())


def test_specs_round_trip_json():
    spec = WindowAggregateSpec(WINDOWS["hop"], ("k", "k2"), AGGS, ("window_start", "window_time"))
    text = json.dumps(spec.to_dict())
    assert WindowAggregateSpec.from_dict(json.loads(text)) == spec
