"""Transpiler unit tests on Flink-dialect ASTs with an in-memory resolver (no Session)."""

from __future__ import annotations

import pytest
import sqlglot

import flowsql.sql.dialect  # noqa: F401  (registers "flink")
from catalog.table import Column, ObjectName, TableDefinition, ViewDefinition
from connectors.base import BatchScan
from flowsql.batch.transpile import Transpiler
from flowsql.batch.windows import interval_ms
from flowsql.errors import CatalogError, NotSupportedError, ValidationError


def _name(n: str) -> ObjectName:
    return ObjectName("default_catalog", "default_database", n)


class DictResolver:
    def __init__(self, objects):
        self.objects = {o.name.name: o for o in objects}

    def lookup(self, parts):
        if parts[-1] not in self.objects:
            raise CatalogError(f"Table '{parts[-1]}' not found")
        return self.objects[parts[-1]]

    def scan(self, table):
        return BatchScan(duckdb_sql="(SELECT 1 AS a)")


T = TableDefinition(
    _name("t"),
    (
        Column("a", "INT"),
        Column("ts", "TIMESTAMP(3)"),
        Column("b", None, "computed", "a + 1"),
        Column("m", "STRING", "metadata", metadata_key="topic"),
    ),
)


def plan(sql: str, *objects):
    resolver = DictResolver([T, *objects])
    return Transpiler(resolver).plan(sqlglot.parse_one(sql, read="flink"))


def test_table_becomes_cte_with_computed_and_metadata_columns():
    p = plan("SELECT a, b, m FROM t")
    assert p.sql.startswith('WITH __t0_t AS (SELECT "a", "ts", a + 1 AS "b", CAST(NULL AS TEXT) AS "m" FROM __scan_0)')
    assert [s.name for s in p.scans] == ["__scan_0"]


def test_flink_expression_names():
    p = plan("SELECT a, COUNT(*), a + 1 AS x FROM t GROUP BY a")
    assert '"EXPR$1"' in p.sql and "AS x" in p.sql


def test_same_table_twice_is_one_scan():
    p = plan("SELECT x.a FROM t x JOIN t y ON x.a = y.a")
    assert len(p.scans) == 1 and p.scans[0].references == 2


def test_user_cte_shadows_catalog():
    p = plan("WITH t AS (SELECT 1 AS a) SELECT a FROM t")
    assert p.scans == []


def test_view_cycle_detected():
    v1 = ViewDefinition(_name("v1"), "SELECT * FROM v2")
    v2 = ViewDefinition(_name("v2"), "SELECT * FROM v1")
    with pytest.raises(ValidationError, match="view cycle"):
        plan("SELECT * FROM v1", v1, v2)


def test_unknown_table_is_catalog_error():
    with pytest.raises(CatalogError):
        plan("SELECT * FROM nope")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM TABLE(read_parquet('/etc/x.parquet'))",
        "SELECT read_text('/etc/passwd') FROM t",
    ],
)
def test_file_functions_rejected(sql):
    with pytest.raises(ValidationError):
        plan(sql)


def test_unknown_function_not_supported():
    with pytest.raises(NotSupportedError, match="not supported yet: function MY_UDF"):
        plan("SELECT MY_UDF(a) FROM t")


def test_proctime_window_not_supported():
    with pytest.raises(NotSupportedError):
        plan("SELECT TUMBLE_PROCTIME(ts, INTERVAL '1' MINUTE) FROM t GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE)")


def test_temporal_join_not_supported():
    with pytest.raises(NotSupportedError):
        plan("SELECT * FROM t AS x JOIN t FOR SYSTEM_TIME AS OF x.ts AS y ON x.a = y.a")


@pytest.mark.parametrize(
    ("text", "ms"),
    [("INTERVAL '10' SECOND", 10_000), ("INTERVAL '1' MINUTE", 60_000), ("INTERVAL '2' HOUR", 7_200_000),
     ("INTERVAL '0.5' SECOND", 500), ("INTERVAL '1' DAY", 86_400_000)],
)
def test_interval_ms(text, ms):
    assert interval_ms(sqlglot.parse_one(text, read="flink")) == ms


def test_month_interval_window_not_supported():
    with pytest.raises(NotSupportedError):
        interval_ms(sqlglot.parse_one("INTERVAL '1' MONTH", read="flink"))


def test_fixed_window_end_derived_from_start():
    p = plan(
        "SELECT window_start, window_end, COUNT(*) FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), "
        "INTERVAL '10' SECOND)) GROUP BY window_start, window_end ORDER BY window_end"
    )
    group_by = p.sql.split("GROUP BY")[-1]
    assert "window_end" not in group_by.split("ORDER BY")[0]
    assert "(window_start + INTERVAL '10000' MILLISECOND) AS window_end" in p.sql
