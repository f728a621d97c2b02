"""Differential tests, stateless part: filter/project (calc with functions), computed columns,
nested ROW access, views, UNION ALL and JSON input — streaming vs batch (see harness). Integer
division and integer casts follow Flink in both modes (truncation toward zero; an integer
division by zero is an error naming the expression)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from harness import DIFF_SETTINGS, SCHEMA, Differential, Input, inputs
from hypothesis import given

from flowsql.errors import ExecutionError

CALC = {
    "filter_project": (
        "SELECT k, g, v, p, s, ts FROM t WHERE v > 10 AND (p IS NULL OR p < 100) OR k = 'a'"
    ),
    "functions": (
        "SELECT UPPER(s) AS us, CHAR_LENGTH(s) AS n, SUBSTRING(s, 2, 3) AS sub, "
        "CONCAT(k, '/', s) AS c, COALESCE(v, -1) AS v0, ABS(v) AS av, MOD(v, 7) AS m, "
        "p * 2 + 1 AS p2, v + g AS vg, CAST(v AS STRING) AS vs, "
        "CASE WHEN v > 50 THEN 'hi' WHEN v > 0 THEN 'mid' ELSE 'lo' END AS band, "
        "s LIKE '%a%' AS has_a, v IS NULL AS vnull, "
        "EXTRACT(SECOND FROM ts) AS sec, DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss') AS day "
        "FROM t WHERE g IS NOT NULL"
    ),
    "computed_and_nested": (
        "SELECT ks, v2, r.a AS ra, r.b AS rb, r.a + v2 AS mix FROM t WHERE r.a IS NULL OR r.a > -2"
    ),
    # Flink: INT / INT truncates toward zero, CAST(DOUBLE AS INT) truncates, DOUBLE / 0 is
    # ±Infinity or NaN; NULL operands give NULL (v has negatives and NULLs, g has 0 and NULL)
    "division_and_integer_casts": (
        "SELECT v / 3 AS v3, -v / 4 AS nv4, v / -7 AS vn7, v / (g + 1) AS vg, v2 / (v + 100) AS q, "
        "g / 2 AS g2, p / v AS pv, v / 2.0 AS vd, CAST(p AS INT) AS pi, CAST(p AS BIGINT) AS pb, "
        "CAST(p / 7 AS INT) AS p7, CAST(-p AS SMALLINT) AS ps, CAST(v / 3.0 AS INT) AS dec_i, "
        "MOD(v, -3) AS m FROM t"
    ),
    "in_between": (
        "SELECT k, v FROM t WHERE k IN ('a', 'b', 'k001') AND v BETWEEN 0 AND 50 OR g NOT IN (1)"
    ),
}


@pytest.mark.parametrize("name", sorted(CALC))
@DIFF_SETTINGS
@given(data=inputs())
def test_calc(name, data):
    with Differential() as d:
        d.table("t", data)
        d.check(CALC[name])


@DIFF_SETTINGS
@given(data=inputs(), other=inputs())
def test_view_and_union_all(data, other):
    with Differential() as d:
        d.table("t", data)
        d.table("t2", other, fmt="json")
        d.execute("CREATE VIEW pos AS SELECT k, v, ts, r.b AS rb FROM t WHERE v >= 0")
        d.check("SELECT k, v, ts, rb FROM pos UNION ALL "
                "SELECT k, v * 10 AS v, ts, r.b AS rb FROM t2 WHERE k IS NOT NULL")


@DIFF_SETTINGS
@given(data=inputs(small_only=True))
def test_json_input(data):
    with Differential() as d:
        d.table("t", data, fmt="json")
        d.check("SELECT k, g, v, p, s, r.a AS ra, ts, v2, ks FROM t")


@pytest.mark.parametrize("mode", ["streaming", "batch"])
def test_integer_division_and_mod_by_zero_are_errors_in_both_modes(mode):
    rows = pa.table({"k": ["a", "b"], "g": pa.array([1, 0], pa.int32()), "v": [7, -7]})
    data = Input(_full(rows), row_group=2)
    with Differential() as d:
        d.table("t", data)
        d.mode(mode)
        with pytest.raises(ExecutionError, match=r"division by zero in 'v / g'"):
            d.execute("SELECT k, v / g AS q FROM t")
        with pytest.raises(ExecutionError, match=r"division by zero in 'v % g'"):
            d.execute("SELECT k, MOD(v, g) AS m FROM t")
        # a NULL dividend, or a DOUBLE division, is no error (NULL, and ±Infinity/NaN)
        result = d.execute("SELECT k, CAST(NULL AS BIGINT) / g AS n, CAST(v AS DOUBLE) / g AS f "
                           "FROM t WHERE g = 0").table
        assert result.to_pylist() == [{"k": "b", "n": None, "f": float("-inf")}]


def _full(rows: pa.Table) -> pa.Table:
    """``rows`` padded to the harness schema (missing columns NULL, one second apart)."""
    n = rows.num_rows
    cols = {}
    for field in SCHEMA:
        if field.name in rows.column_names:
            cols[field.name] = rows.column(field.name).cast(field.type)
        elif field.name == "ts":
            cols["ts"] = pa.array([1_704_067_200_000 + i * 1000 for i in range(n)],
                                  pa.timestamp("ms"))
        else:
            cols[field.name] = pa.nulls(n, field.type)
    return pa.table(cols, schema=SCHEMA)
