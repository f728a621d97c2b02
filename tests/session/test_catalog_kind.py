"""'table.catalog.default.kind': an in-memory default catalog (Flink's behaviour) beside the
persistent one, switched by SET / RESET within a session."""

from __future__ import annotations

import pytest

from catalog.catalog import MEMORY_CATALOG_HINT
from flowsql.errors import CatalogError, ValidationError
from flowsql.session import Session

DDL = "CREATE TABLE t (a INT) WITH ('connector' = 'datagen', 'number-of-rows' = '3')"


def tables(session) -> set[str]:
    return set(session.catalog.list_tables())


def test_memory_catalog_makes_scripts_rerunnable(flowsql_home):
    for _ in range(2):  # a second session runs the same script: nothing is left behind
        s = Session(home=flowsql_home, config={"table.catalog.default.kind": "memory"})
        try:
            s.execute_one(DDL)
            assert s.execute_one("SELECT COUNT(*) AS c FROM t").table.column("c").to_pylist()[-1] == 3
        finally:
            s.close()
    persistent = Session(home=flowsql_home)
    try:
        assert "t" not in tables(persistent)
    finally:
        persistent.close()


def test_already_exists_hint_names_the_option(session):
    session.execute_one(DDL)
    with pytest.raises(CatalogError) as info:
        session.execute_one(DDL)
    assert "table.catalog.default.kind" in info.value.hint
    assert "--catalog memory" in info.value.hint
    assert MEMORY_CATALOG_HINT in info.value.hint


def test_set_and_reset_switch_catalogs(session):
    session.execute_one("CREATE TEMPORARY VIEW tv AS SELECT 1 AS x")
    session.execute_one(DDL)  # persistent
    session.execute_one("SET 'table.catalog.default.kind' = 'memory'")
    assert "t" not in tables(session)
    session.execute_one(DDL)  # no clash: another catalog
    session.execute_one("CREATE TABLE m (b INT) WITH ('connector' = 'datagen')")
    assert session.execute_one("SELECT x FROM tv").table.to_pylist() == [{"x": 1}]  # temporaries stay
    session.execute_one("RESET 'table.catalog.default.kind'")
    assert "t" in tables(session) and "m" not in tables(session)
    session.execute_one("SET 'table.catalog.default.kind' = 'memory'")
    assert "m" in tables(session)  # the in-memory catalog lives as long as the session


def test_bad_kind_is_rejected(session):
    with pytest.raises(ValidationError, match="table.catalog.default.kind") as info:
        session.execute_one("SET 'table.catalog.default.kind' = 'hive'")
    assert info.value.hint == "valid values: persistent, memory"
