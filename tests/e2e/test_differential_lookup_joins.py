"""Differential tests, lookup joins (``JOIN u FOR SYSTEM_TIME AS OF a.pt`` with ``pt`` a
PROCTIME() attribute): streaming vs DuckDB batch mode (where the lookup join is a plain
join), INNER and LEFT, on random inputs (NULL keys, duplicated rows on both sides, several
lookup rows per key, out-of-order times) at parallelism 1 and 2, append-only and updating
(a GROUP BY before the lookup join) probe sides. The lookup table does not change while the
job runs, so both engines see the same rows."""

from __future__ import annotations

import pytest
from harness import DIFF_SETTINGS, Differential, inputs, write_input
from hypothesis import given

SIDES = {"INNER": "JOIN", "LEFT": "LEFT JOIN"}
PROBE = "(SELECT *, PROCTIME() AS pt FROM t)"
CASES = {
    "one_key": "SELECT a.k, a.v, b.s AS bs, b.v AS bv FROM " + PROBE + " AS a {join} u "
               "FOR SYSTEM_TIME AS OF a.pt AS b ON a.k = b.k",
    # two keys, one an expression of the probe side cast to the lookup column's type, and a
    # residual over both sides
    "expression_key_residual": "SELECT a.k, a.g, a.v, b.p AS bp FROM " + PROBE + " AS a {join} u "
                               "FOR SYSTEM_TIME AS OF a.pt AS b ON a.k = b.k AND a.g + 0 = b.g "
                               "AND a.p < b.p",
    # an updating probe side: its -U/+U rows are looked up and keep their row kinds
    "updating_probe": "SELECT a.k, a.c, b.s AS bs FROM (SELECT k, c, PROCTIME() AS pt FROM "
                      "(SELECT k, COUNT(*) AS c FROM t GROUP BY k)) AS a {join} u FOR SYSTEM_TIME "
                      "AS OF a.pt AS b ON a.k = b.k",
}


@pytest.mark.parametrize("side", sorted(SIDES))
@pytest.mark.parametrize("name", sorted(CASES))
@DIFF_SETTINGS
@given(left=inputs(), right=inputs(small_only=True))
def test_lookup_join(name, side, left, right):
    with Differential() as d:
        d.table("t", left)
        path = write_input(right, d.root / "data", "u")
        d.execute("CREATE TABLE u (k STRING, g INT, v BIGINT, p DOUBLE, s STRING, ts TIMESTAMP(3)) "
                  f"WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'parquet')")
        d.check(CASES[name].format(join=SIDES[side]))
