"""Processing-time windows end to end, on the real clock: the window contents depend on when
rows arrive, so these tests check invariants rather than exact windows (the exact contents
are checked with a controlled clock in tests/operators/test_proctime_window.py):

- every row is counted once per window that holds it: per key, the counts and sums over all
  TUMBLE / SESSION windows (and over the max-size CUMULATE windows) equal the key's totals
  (batch mode over the same file), and over HOP windows (size = 2 × slide) twice those totals;
- windows are well formed: ``window_end - window_start`` is the size (TUMBLE / HOP), starts
  lie on the grid, and a (key, window) appears once;
- a bounded input fires every open window at its end.

Random inputs from the differential harness (NULL keys and values, duplicates), parallelism
1 and 2; both the window TVF and the legacy ``GROUP BY TUMBLE(pt, ...)`` forms."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from harness import COLUMNS, Differential, Input, assert_same_rows, inputs, write_input
from hypothesis import HealthCheck, given, settings

from tests.examples import examples

SETTINGS = settings(max_examples=examples(3), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

TOTALS = "SELECT k, COUNT(*) AS c, SUM(v) AS s FROM t GROUP BY k"
WINDOWED = {
    # (query, how many windows hold each row, window size in ms or None)
    "tumble": ("SELECT k, window_start, window_end, COUNT(*) AS c, SUM(v) AS s FROM "
               "TABLE(TUMBLE(TABLE tp, DESCRIPTOR(pt), INTERVAL '1' SECOND)) "
               "GROUP BY k, window_start, window_end", 1, 1000),
    "hop": ("SELECT k, window_start, window_end, COUNT(*) AS c, SUM(v) AS s FROM "
            "TABLE(HOP(TABLE tp, DESCRIPTOR(pt), INTERVAL '100' MILLISECOND, "
            "INTERVAL '200' MILLISECOND)) GROUP BY k, window_start, window_end", 2, 200),
    "session": ("SELECT k, window_start, window_end, COUNT(*) AS c, SUM(v) AS s FROM "
                "TABLE(SESSION(TABLE tp PARTITION BY k, DESCRIPTOR(pt), INTERVAL '50' MILLISECOND)) "
                "GROUP BY k, window_start, window_end", 1, None),
    # the max-size windows (start to start + 400 ms) hold each row once
    "cumulate": ("SELECT k, window_start, window_end, COUNT(*) AS c, SUM(v) AS s FROM "
                 "TABLE(CUMULATE(TABLE tp, DESCRIPTOR(pt), INTERVAL '100' MILLISECOND, "
                 "INTERVAL '400' MILLISECOND)) GROUP BY k, window_start, window_end", 1, 400),
    "legacy": ("SELECT k, TUMBLE_START(pt, INTERVAL '1' SECOND) AS window_start, "
               "TUMBLE_END(pt, INTERVAL '1' SECOND) AS window_end, COUNT(*) AS c, SUM(v) AS s "
               "FROM tp GROUP BY k, TUMBLE(pt, INTERVAL '1' SECOND)", 1, 1000),
}


def _check(d: Differential, data: Input, name: str) -> None:
    query, copies, size = WINDOWED[name]
    streamed = d.streaming(query)
    assert streamed.schema.field("window_start").type == pa.timestamp("ms", tz="UTC")
    totals = d.batch(TOTALS)
    con = duckdb.connect()
    con.register("fired", streamed.cast(pa.schema([
        f.with_type(pa.timestamp("ms")) if pa.types.is_timestamp(f.type) else f
        for f in streamed.schema])))
    length = "(epoch_ms(window_end) - epoch_ms(window_start))"
    if name == "cumulate":  # growing windows: [start, start + 100 ms * j), j = 1..4
        assert con.execute(f"SELECT COUNT(*) FROM fired WHERE {length} % 100 <> 0 OR {length} "
                           f"> {size} OR epoch_ms(window_start) % {size} <> 0").fetchone()[0] == 0
        con.execute(f"CREATE VIEW w AS SELECT * FROM fired WHERE {length} = {size}")
    else:
        con.execute("CREATE VIEW w AS SELECT * FROM fired")
    # every row counted once per window holding it
    per_key = con.sql(f"SELECT k, CAST(SUM(c) AS BIGINT) // {copies} AS c, "
                          f"CAST(SUM(s) AS BIGINT) // {copies} AS s FROM w GROUP BY k").to_arrow_table()
    assert_same_rows(per_key, totals, context=query)
    assert con.execute("SELECT COALESCE(SUM(c), 0) FROM w").fetchone()[0] == copies * data.table.num_rows
    # a (key, window) once; well-formed windows
    assert con.execute("SELECT COUNT(*) FROM (SELECT k, window_start, window_end FROM w "
                       "GROUP BY ALL HAVING COUNT(*) > 1)").fetchone()[0] == 0
    if size is not None:
        bad = con.execute(f"SELECT COUNT(*) FROM w WHERE {length} <> {size} OR "
                          f"epoch_ms(window_start) % {size // copies} <> 0").fetchone()[0]
        assert bad == 0
    else:  # sessions of one key do not overlap
        overlaps = con.execute("SELECT COUNT(*) FROM w a JOIN w b ON a.k IS NOT DISTINCT FROM b.k "
                               "AND a.window_start < b.window_start "
                               "AND b.window_start < a.window_end").fetchone()[0]
        assert overlaps == 0


def _declare(d: Differential, data: Input) -> None:
    d.table("t", data)
    path = write_input(data, d.root / "data", "tp")
    d.execute(f"CREATE TABLE tp ({COLUMNS}, pt AS PROCTIME()) "
              f"WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'parquet')")


@pytest.mark.parametrize("names", [("tumble", "legacy"), ("hop", "session"), ("cumulate",)])
@SETTINGS
@given(data=inputs())
def test_every_row_counted_once_per_window(names, data):
    with Differential() as d:
        _declare(d, data)
        for name in names:
            _check(d, data, name)


def test_proctime_of_a_view_select_item():
    """``PROCTIME()`` as a select item of a view is a processing-time attribute too."""
    rows = pa.table({"k": ["a", "b", "a", None], "v": pa.array([1, 2, 3, None], pa.int64())})
    with Differential() as d:
        path = d.root / "v.parquet"
        import pyarrow.parquet as pq

        pq.write_table(rows, path)
        d.execute(f"CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'filesystem', "
                  f"'path' = '{path}', 'format' = 'parquet')")
        d.execute("CREATE VIEW tv AS SELECT k, v, PROCTIME() AS pt FROM t")
        out = d.streaming("SELECT k, SUM(c) AS c, SUM(s) AS s FROM (SELECT k, COUNT(*) AS c, "
                          "SUM(v) AS s FROM TABLE(TUMBLE(TABLE tv, DESCRIPTOR(pt), "
                          "INTERVAL '1' MINUTE)) GROUP BY k, window_start, window_end) GROUP BY k")
        assert sorted(out.to_pylist(), key=lambda r: str(r["k"])) == [
            {"k": None, "c": 1, "s": None}, {"k": "a", "c": 2, "s": 4}, {"k": "b", "c": 1, "s": 2}]
