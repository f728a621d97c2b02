"""Differential tests with late rows: rows behind the watermark are dropped by window
operators (counted and sent to the 'late-data.sink' table), so streaming over the full input
equals batch over the on-time rows; unbounded GROUP BY has no lateness, so it equals batch over
every row. Late rows come in their own source batch, after the watermark has passed all their
windows (see harness.late_input)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from harness import BASE_MS, DIFF_SETTINGS, Differential, Input, assert_same_rows, inputs
from harness import late_input as with_late
from hypothesis import assume, given
from hypothesis import strategies as st

HOUR_MS = 3_600_000
# Late rows sit more than an hour before BASE_MS: every window (≤ 1 h) holding them ended long
# before the watermark, which is ≥ BASE_MS - bound after the first on-time batch.
LATE_TIMES = st.lists(st.integers(-5 * HOUR_MS, -HOUR_MS - 1), min_size=1, max_size=20)

WINDOWED = {
    "tumble": ("SELECT k, window_start, window_end, COUNT(*) AS c, SUM(v) AS s FROM TABLE("
               "TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)) "
               "GROUP BY k, window_start, window_end"),
    "hop": ("SELECT window_start, window_end, COUNT(*) AS c, MAX(p) AS m FROM TABLE("
            "HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND)) "
            "GROUP BY window_start, window_end"),
    "session": ("SELECT g, window_start, window_end, COUNT(*) AS c FROM TABLE(SESSION(TABLE t "
                "PARTITION BY g, DESCRIPTOR(ts), INTERVAL '3' SECOND)) "
                "GROUP BY g, window_start, window_end"),
    "legacy_tumble": ("SELECT TUMBLE_START(ts, INTERVAL '1' MINUTE) AS ws, COUNT(*) AS c "
                      "FROM t GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE)"),
}


def _late(data: Input, late_ms: list[int]) -> Input:
    """The input with late rows, each on-time row group flushed as one source batch (so the
    watermark advances before the late rows arrive)."""
    assume(data.table.num_rows > 0)
    late = with_late(data, late_ms)
    # Parallelism 1: with several source subtasks the downstream watermark is the minimum over
    # their channels, so whether a row is late depends on thread timing (in Flink too).
    return Input(late.table, late.row_group, late_rows=late.late_rows, batch_size=1,
                 parallelism=1)


@pytest.mark.parametrize("name", sorted(WINDOWED))
@DIFF_SETTINGS
@given(data=inputs(), late_ms=LATE_TIMES)
def test_late_rows_excluded_equally(name, data, late_ms):
    data = _late(data, late_ms)
    sql = WINDOWED[name]
    with Differential() as d:
        d.table("t", data)
        streamed = d.streaming(sql)
        d.execute("DROP TABLE t")
        d.table("t", Input(data.on_time, data.row_group))
        assert_same_rows(streamed, d.batch(sql), context=sql)


@DIFF_SETTINGS
@given(data=inputs(), late_ms=LATE_TIMES)
def test_late_rows_go_to_side_output(data, late_ms):
    data = _late(data, late_ms)
    sql = WINDOWED["tumble"]
    with Differential() as d:
        out = d.root / "late-out"
        d.execute("CREATE TABLE late_rows (k STRING, v BIGINT, ts TIMESTAMP(3)) WITH ("
                  f"'connector' = 'filesystem', 'path' = '{out}', 'format' = 'parquet')")
        d.table("t", data, extra_options=", 'late-data.sink' = 'late_rows'")
        d.streaming(sql)
        assert d.late_rows_dropped() == data.late_rows
        files = sorted(out.glob("*.parquet")) if out.exists() else []
        got = pa.concat_tables([pq.read_table(f) for f in files]) if files else None
        late = data.table.slice(data.table.num_rows - data.late_rows).select(["k", "v", "ts"])
        assert got is not None, "no late-data file written"
        assert_same_rows(got.select(["k", "v", "ts"]), late)
        assert min(late.column("ts").cast(pa.int64()).to_pylist()) < BASE_MS


@DIFF_SETTINGS
@given(data=inputs(), late_ms=LATE_TIMES)
def test_group_by_keeps_late_rows(data, late_ms):
    data = _late(data, late_ms)
    with Differential() as d:
        d.table("t", data)
        d.check("SELECT k, COUNT(*) AS c, SUM(v) AS s, MIN(ts) AS first_ts FROM t GROUP BY k")
