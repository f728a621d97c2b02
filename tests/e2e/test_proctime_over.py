"""OVER aggregation ordered by a processing-time attribute, end to end on the real clock.

Rows are ordered by their arrival at the OVER operator, which no batch query can reproduce,
so these tests check what holds for every arrival order (the exact frames are checked with a
controlled clock in tests/operators/test_over_proctime.py): every input row comes out once;
per key, ``COUNT(*)`` over ``ROWS UNBOUNDED PRECEDING`` takes each value 1..n once, and the
row counted n carries the key's total ``SUM(v)`` (batch mode's answer); ``COUNT(*)`` over
``ROWS 2 PRECEDING`` takes min(i, 3) for i = 1..n. Random inputs from the differential harness
(NULL keys and values, duplicates), parallelism 1 and 2."""

from __future__ import annotations

import duckdb
import pytest
from harness import COLUMNS, Differential, Input, assert_same_rows, inputs, write_input
from hypothesis import HealthCheck, given, settings

from tests.examples import examples

SETTINGS = settings(max_examples=examples(2), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

QUERY = ("SELECT k, v, "
         "COUNT(*) OVER (PARTITION BY k ORDER BY pt ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c, "
         "SUM(v) OVER (PARTITION BY k ORDER BY pt ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s "
         "FROM tp")
BOUNDED = ("SELECT k, COUNT(*) OVER (PARTITION BY k ORDER BY pt ROWS BETWEEN 2 PRECEDING AND "
           "CURRENT ROW) AS c FROM tp")


def _declare(d: Differential, data: Input, parallelism: int) -> None:
    d.table("t", data)
    path = write_input(data, d.root / "data", "tp")
    d.execute(f"CREATE TABLE tp ({COLUMNS}, pt AS PROCTIME()) "
              f"WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'parquet')")
    d.execute(f"SET 'parallelism.default' = '{parallelism}'")


@pytest.mark.parametrize("parallelism", [1, 2])
@SETTINGS
@given(data=inputs())
def test_every_row_once_and_counts_run_one_to_n(parallelism, data):
    with Differential() as d:
        _declare(d, data, parallelism)
        streamed = d.streaming(QUERY)
        assert streamed.num_rows == data.table.num_rows
        con = duckdb.connect()
        con.register("o", streamed)
        # per key, the counts are 1..n, each once
        bad = con.execute("SELECT COUNT(*) FROM (SELECT k, COUNT(*) AS n, COUNT(DISTINCT c) AS d, "
                          "MIN(c) AS lo, MAX(c) AS hi FROM o GROUP BY k) "
                          "WHERE d <> n OR lo <> 1 OR hi <> n").fetchall()[0][0]
        assert bad == 0
        # the last row of a key carries its total
        last = con.sql("SELECT k, c, s FROM o WHERE (k, c) IN (SELECT k, MAX(c) FROM o GROUP BY k) "
                       "OR (k IS NULL AND c = (SELECT MAX(c) FROM o WHERE k IS NULL))").to_arrow_table()
        totals = d.batch("SELECT k, COUNT(*) AS c, SUM(v) AS s FROM t GROUP BY k")
        assert_same_rows(last, totals, context=QUERY)
        bounded = d.streaming(BOUNDED)
        con.register("b", bounded)
        expected = con.execute("SELECT k, LEAST(c, 3) AS c FROM o ORDER BY ALL").fetchall()
        assert con.execute("SELECT k, c FROM b ORDER BY ALL").fetchall() == expected
