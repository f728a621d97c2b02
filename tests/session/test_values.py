"""VALUES and SELECT without FROM (a bounded source in streaming mode, as in Flink) and
INSERT INTO ... VALUES in both modes, through the Session (real MiniCluster, real DuckDB)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from flowsql.errors import ValidationError


def rows(result) -> list[tuple]:
    return [tuple(r.values()) for r in result.table.to_pylist()]


def both(session, sql: str) -> tuple[list[tuple], list[tuple]]:
    streaming = rows(session.execute_one(sql))
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    try:
        batch = rows(session.execute_one(sql))
    finally:
        session.execute_one("RESET 'execution.runtime-mode'")
    return streaming, batch


def test_select_one(session):
    result = session.execute_one("SELECT 1;")
    assert result.table.column_names == ["EXPR$0"]
    assert rows(result) == [(1,)]


def test_select_without_from_matches_batch(session):
    sql = "SELECT 1 + 1 AS two, 'a' AS s, TIMESTAMP '2024-01-01 10:00:00' AS ts, CAST(NULL AS INT) AS n"
    s, b = both(session, sql)
    assert s == b == [(2, "a", datetime.datetime(2024, 1, 1, 10), None)]


def test_values_names_and_common_types(session):
    result = session.execute_one("VALUES (1, 'a'), (2.5, CAST(NULL AS STRING))")
    assert result.table.column_names == ["EXPR$0", "EXPR$1"]
    assert rows(result) == [(Decimal("1.0"), "a"), (Decimal("2.5"), None)]
    s, b = both(session, "VALUES (1, 'a'), (2, 'bb'), (3, 'a')")
    assert s == b == [(1, "a"), (2, "bb"), (3, "a")]


def test_values_in_from_with_column_aliases(session):
    sql = "SELECT x * 10 AS y, z FROM (VALUES (1, 'p'), (2, 'q'), (3, 'p')) AS v(x, z) WHERE z = 'p'"
    s, b = both(session, sql)
    assert sorted(s) == sorted(b) == [(10, "p"), (30, "p")]


def test_values_feeding_an_aggregation(session):
    sql = "SELECT z, SUM(x) AS s FROM (VALUES (1, 'p'), (2, 'q'), (3, 'p')) AS v(x, z) GROUP BY z"
    s, b = both(session, sql)
    assert sorted(s) == sorted(b) == [("p", 4), ("q", 2)]


def test_explain_shows_values(session):
    text = session.execute_one("EXPLAIN SELECT 1").message
    assert "Values(tuples=[[0]], fields=[ZERO])" in text
    assert "values-source" in text or "Values" in text


@pytest.mark.parametrize("sql, message", [
    ("VALUES (1, 2), (3)", "same number of columns"),
    ("VALUES (1), ('a')", "incompatible types"),
    ("VALUES (NULL)", "NULL in every row"),
])
def test_bad_values(session, sql, message):
    with pytest.raises(ValidationError, match=message):
        session.execute_one(sql)


@pytest.mark.parametrize("mode", ["streaming", "batch"])
def test_insert_values(session, tmp_path, mode):
    session.execute_one(
        f"CREATE TABLE t (a INT, b STRING, c DOUBLE) WITH ('connector' = 'filesystem', "
        f"'path' = '{tmp_path / 't'}', 'format' = 'json')"
    )
    session.execute_one(f"SET 'execution.runtime-mode' = '{mode}'")
    session.execute_one("SET 'table.dml-sync' = 'true'")
    session.execute_one("INSERT INTO t VALUES (1, 'x', 1.5), (2, CAST(NULL AS STRING), 2)")
    session.execute_one("INSERT INTO t (b, a) VALUES ('y', 3)")
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    got = sorted(rows(session.execute_one("SELECT a, b, c FROM t")))
    assert got == [(1, "x", 1.5), (2, None, 2.0), (3, "y", None)]
