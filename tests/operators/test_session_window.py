"""SESSION window aggregation against a DuckDB oracle (gap-based sessionization)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from operators_harness import bounded_watermarks, drive, oracle, rows_of, split, streams

from flowsql.errors import NotSupportedError
from flowsql.messages import Watermark
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.session_window import SessionWindowOperator, segmented_cummax
from flowsql.operators.specs import AggCall, WindowAggregateSpec, WindowSpec
from tests.examples import examples

AGGS = (
    AggCall("COUNT_STAR", None, "cnt"),
    AggCall("SUM", "v", "sum_v"),
    AggCall("AVG", "v", "avg_v"),
    AggCall("MAX", "v", "max_v"),
    AggCall("FIRST_VALUE", "v", "first_v"),
    AggCall("LAST_VALUE", "v", "last_v"),
    AggCall("COUNT", "v", "cnt_flag", filter="flag"),
)
ORACLE_AGGS = """count(*) AS cnt, sum(v) AS sum_v, avg(v) AS avg_v, max(v) AS max_v,
    arg_min(v, id) FILTER (WHERE v IS NOT NULL) AS first_v,
    arg_max(v, id) FILTER (WHERE v IS NOT NULL) AS last_v,
    count(v) FILTER (WHERE flag) AS cnt_flag"""
OUT = ["window_start", "window_end", "window_time", *(a.output for a in AGGS)]


def session_oracle(table: pa.Table, keys: tuple[str, ...], gap: int) -> pa.Table:
    part = f"PARTITION BY {', '.join(keys)}" if keys else ""
    sel = "".join(f"{k}, " for k in keys)
    sql = f"""
    WITH t2 AS (SELECT *, epoch_ms(ts) AS t FROM t),
    marked AS (SELECT *, CASE WHEN t - lag(t) OVER (w) > {gap} THEN 1 ELSE 0 END AS brk
               FROM t2 WINDOW w AS ({part} ORDER BY t)),
    sess AS (SELECT *, sum(brk) OVER ({part} ORDER BY t RANGE UNBOUNDED PRECEDING) AS sid FROM marked)
    SELECT {sel} min(t) AS window_start, max(t) + {gap} AS window_end,
           max(t) + {gap} - 1 AS window_time, {ORACLE_AGGS}
    FROM sess GROUP BY {sel} sid
    """
    return oracle(sql, t=table)


def make(keys, gap, late=None):
    spec = WindowAggregateSpec(WindowSpec("SESSION", "ts", gap_ms=gap), keys, AGGS,
                               ("window_start", "window_end", "window_time"))
    return lambda: SessionWindowOperator(spec, late_out=late)


@pytest.mark.parametrize("keys", [(), ("k",), ("k", "k2")])
@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=streams(), gap=st.integers(1, 40))
def test_matches_duckdb(keys, data, gap):
    table, bound, cuts = data
    batches = split(table, cuts)
    out, op = drive(make(keys, gap), batches, bounded_watermarks(batches, bound))
    assert op.ctx.metrics.late_records_dropped == 0
    cols = [*keys, *OUT]
    assert rows_of(out.table(), cols) == rows_of(session_oracle(table, keys, gap), cols)


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=streams(), gap=st.integers(1, 40), at=st.integers(0, 8))
def test_snapshot_restore_mid_stream(data, gap, at):
    table, bound, cuts = data
    batches = split(table, cuts)
    wms = bounded_watermarks(batches, bound)
    full, _ = drive(make(("k",), gap), batches, wms)
    resumed, _ = drive(make(("k",), gap), batches, wms, snapshot_after=min(at, len(batches) - 1))
    assert [b.to_pylist() for b in resumed.batches] == [b.to_pylist() for b in full.batches]


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=streams(), gap=st.integers(1, 40), lag=st.integers(-40, 0))
def test_late_rows_counted_and_emitted(data, gap, lag):
    """An aggressive watermark makes some rows late; every row is either aggregated or late."""
    table, bound, cuts = data
    batches = split(table, cuts)
    late = ListCollector()
    out, op = drive(make(("k",), gap, late), batches, bounded_watermarks(batches, bound, lag))
    late_t = late.table(table.schema)
    assert late_t.num_rows == op.ctx.metrics.late_records_dropped
    counted = pc.sum(out.table().column("cnt")).as_py() if out.batches else 0
    assert (counted or 0) + late_t.num_rows == table.num_rows


def _batch(ts, k=None, v=None):
    n = len(ts)
    return pa.record_batch({"k": pa.array(k or ["a"] * n, pa.string()),
                            "ts": pa.array(ts, pa.timestamp("ms")),
                            "v": pa.array(v or [1] * n, pa.int64()),
                            "flag": pa.array([True] * n)})


def test_old_row_bridging_open_sessions_is_not_late():
    late = ListCollector()
    op = make(("k",), 10, late)()
    op.open(OperatorContext("s"))
    out = ListCollector()
    op.process_batch(_batch([0, 30]), out)
    op.on_watermark(Watermark(5), out)
    # ts=5 is behind the watermark but joins the open [0,10); 5, 14, 22 bridge to [30,40)
    op.process_batch(_batch([14, 5, 22]), out)
    op.on_watermark(Watermark(3), out)  # not advancing
    op.process_batch(_batch([-50]), out)  # alone and behind the watermark → late
    op.on_watermark(Watermark(100), out)
    assert op.ctx.metrics.late_records_dropped == 1
    assert late.table().column("ts").cast(pa.int64()).to_pylist() == [-50]
    assert rows_of(out.table(), ["window_start", "window_end", "cnt"]) == [(0, 40, 5)]


def test_segmented_cummax():
    vals = np.array([5, 3, 7, 1, 2, 9, 4], dtype=np.int64)
    seg = np.array([1, 0, 0, 1, 0, 1, 0], dtype=bool)
    assert segmented_cummax(vals, seg).tolist() == [5, 5, 7, 1, 2, 9, 9]
    big = np.array([0, 2**61, 5, 1], dtype=np.int64)
    assert segmented_cummax(big, np.array([1, 0, 1, 1], dtype=bool)).tolist() == [0, 2**61, 5, 1]


def test_distinct_refused():
    spec = WindowAggregateSpec(WindowSpec("SESSION", "ts", gap_ms=5), (),
                               (AggCall("COUNT", "v", "c", distinct=True),))
    with pytest.raises(NotSupportedError):
        SessionWindowOperator(spec)
