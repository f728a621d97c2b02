"""Differential tests, stateless part: filter/project (calc with functions), computed columns,
nested ROW access, views, UNION ALL and JSON input — streaming vs batch (see harness)."""

from __future__ import annotations

import pytest
from harness import DIFF_SETTINGS, Differential, inputs
from hypothesis import given

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
