"""CREATE / DROP / SHOW [USER] FUNCTIONS through the Session, the catalog keeping functions
across sessions, and a function used right after CREATE FUNCTION in both modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsql.errors import CatalogError, ExecutionError, ValidationError
from flowsql.session import Session

SAMPLES = Path(__file__).resolve().parents[1] / "udf" / "udf_samples.py"
FILES = f"SET 'python.files' = '{SAMPLES}'"
WORDS = ("CREATE TEMPORARY VIEW words AS SELECT * FROM (VALUES ('banana', 1), ('apple', 2), "
         "(CAST(NULL AS STRING), 3)) AS t(s, n)")


def _names(session, what="SHOW USER FUNCTIONS"):
    return [r["function name"] for r in session.execute_one(what).table.to_pylist()]


@pytest.mark.parametrize("mode", ["streaming", "batch"])
def test_create_function_then_use_it(session, mode):
    session.execute_one(FILES)
    session.execute_one("CREATE FUNCTION count_char AS 'udf_samples.count_char' LANGUAGE PYTHON")
    session.execute_one(WORDS)
    session.execute_one(f"SET 'execution.runtime-mode' = '{mode}'")
    rows = session.execute_one(
        "SELECT s, COUNT_CHAR(s, 'a') AS c, count_char('aaa', 'a') AS k FROM words"
    ).table.to_pylist()
    assert rows == [{"s": "banana", "c": 3, "k": 3}, {"s": "apple", "c": 1, "k": 3},
                    {"s": None, "c": None, "k": 3}]


def test_a_view_calling_a_function_runs_in_both_modes(session):
    session.execute_one(FILES)
    session.execute_one("CREATE TEMPORARY FUNCTION plus_one AS 'udf_samples.plus_one'")
    session.execute_one(WORDS)
    session.execute_one("CREATE TEMPORARY VIEW bumped AS SELECT s, plus_one(n) AS m FROM words")
    got = {}
    for mode in ("streaming", "batch"):
        session.execute_one(f"SET 'execution.runtime-mode' = '{mode}'")
        got[mode] = session.execute_one("SELECT m FROM bumped WHERE m > 2").table.to_pylist()
    assert got["streaming"] == got["batch"] == [{"m": 3}, {"m": 4}]


@pytest.mark.parametrize("mode", ["streaming", "batch"])
def test_a_raising_function_names_itself_and_the_row(session, mode):
    session.execute_one(FILES)
    session.execute_one("CREATE TEMPORARY FUNCTION f3 AS 'udf_samples.fails_on_three'")
    session.execute_one(WORDS)
    session.execute_one(f"SET 'execution.runtime-mode' = '{mode}'")
    with pytest.raises(ExecutionError) as info:
        session.execute_one("SELECT f3(n) FROM words")
    assert ("Python function 'f3' raised ValueError: three is not allowed on the row with "
            "arguments (3)") in info.value.render()


def test_show_and_drop(session):
    session.execute_one(FILES)
    session.execute_one("CREATE FUNCTION count_char AS 'udf_samples.count_char'")
    session.execute_one("CREATE TEMPORARY FUNCTION plus_one AS 'udf_samples.plus_one'")
    session.execute_one("CREATE TEMPORARY SYSTEM FUNCTION halve AS 'udf_samples.halve'")
    assert _names(session) == ["count_char", "halve", "plus_one"]
    assert {"count_char", "UPPER"} <= set(_names(session, "SHOW FUNCTIONS"))
    with pytest.raises(CatalogError, match="Function 'count_char' already exists"):
        session.execute_one("CREATE FUNCTION count_char AS 'udf_samples.count_char'")
    session.execute_one("CREATE FUNCTION IF NOT EXISTS count_char AS 'udf_samples.count_char'")
    with pytest.raises(CatalogError, match="is a temporary function"):
        session.execute_one("DROP FUNCTION plus_one")
    with pytest.raises(CatalogError, match="Temporary function 'count_char' not found") as info:
        session.execute_one("DROP TEMPORARY FUNCTION count_char")
    assert "'count_char' is a permanent function" in info.value.render()
    session.execute_one("DROP TEMPORARY FUNCTION plus_one")
    session.execute_one("DROP TEMPORARY SYSTEM FUNCTION halve")
    session.execute_one("DROP FUNCTION count_char")
    session.execute_one("DROP FUNCTION IF EXISTS count_char")
    with pytest.raises(CatalogError, match="Function 'count_char' not found"):
        session.execute_one("DROP FUNCTION count_char")
    assert _names(session) == []


def test_a_system_function_may_not_shadow_a_built_in(session):
    session.execute_one(FILES)
    with pytest.raises(ValidationError, match="it is a built-in function"):
        session.execute_one("CREATE TEMPORARY SYSTEM FUNCTION upper AS 'udf_samples.plus_one'")


def test_create_function_imports_the_module_at_once(session):
    with pytest.raises(ValidationError, match="cannot import module 'missing_udfs'"):
        session.execute_one("CREATE FUNCTION f AS 'missing_udfs.f'")
    assert _names(session) == []


def test_functions_persist_across_sessions(flowsql_home):
    first = Session(home=flowsql_home)
    first.execute_one(FILES)
    first.execute_one("CREATE DATABASE udfs")
    first.execute_one("CREATE FUNCTION udfs.count_char AS 'udf_samples.count_char'")
    first.execute_one("CREATE TEMPORARY FUNCTION gone AS 'udf_samples.plus_one'")
    first.close()
    second = Session(home=flowsql_home)
    try:
        assert _names(second) == []  # another database
        second.execute_one("USE udfs")
        assert _names(second) == ["count_char"]  # the temporary one went with its session
        second.execute_one("SET 'execution.runtime-mode' = 'batch'")
        rows = second.execute_one("SELECT count_char('cocoa', 'c') AS n").table.to_pylist()
        assert rows == [{"n": 2}]
        second.execute_one("USE default_database")
        second.execute_one("DROP DATABASE udfs CASCADE")
        second.execute_one("CREATE DATABASE udfs")
        second.execute_one("USE udfs")
        assert _names(second) == []
    finally:
        second.close()


def test_in_memory_catalog_keeps_temporary_functions(session):
    session.execute_one(FILES)
    session.execute_one("CREATE TEMPORARY FUNCTION plus_one AS 'udf_samples.plus_one'")
    session.execute_one("SET 'table.catalog.default.kind' = 'memory'")
    assert _names(session) == ["plus_one"]


def test_a_kept_function_whose_module_is_gone_fails_at_first_use(flowsql_home, tmp_path):
    import sys

    module = tmp_path / "vanishing_udfs.py"
    module.write_text("from flowsql.udf import udf\n"
                      "@udf(result_type='BIGINT')\n"
                      "def one(x):\n    return [1] * len(x)\n")
    first = Session(home=flowsql_home)
    first.execute_one(f"SET 'python.files' = '{module}'")
    first.execute_one("CREATE FUNCTION one AS 'vanishing_udfs.one'")
    first.close()
    module.unlink()
    sys.modules.pop("vanishing_udfs", None)
    second = Session(home=flowsql_home)
    try:
        for mode in ("streaming", "batch"):
            second.execute_one(f"SET 'execution.runtime-mode' = '{mode}'")
            with pytest.raises(ValidationError) as info:
                second.execute_one("SELECT one(1) AS x")
            assert ("function 'one': cannot import module 'vanishing_udfs': ModuleNotFoundError"
                    in info.value.render())
    finally:
        second.close()


@pytest.mark.parametrize("mode", ["streaming", "batch"])
def test_a_function_of_the_wrong_kind_says_where_it_belongs(session, mode):
    session.execute_one(FILES)
    session.execute_one("CREATE TEMPORARY FUNCTION count_char AS 'udf_samples.count_char'")
    session.execute_one("CREATE TEMPORARY FUNCTION words AS 'udf_samples.words'")
    session.execute_one(WORDS)
    session.execute_one(f"SET 'execution.runtime-mode' = '{mode}'")
    with pytest.raises(ValidationError, match="count_char is a scalar function, not a table"):
        session.execute_one("SELECT * FROM words, LATERAL TABLE(count_char(s, 'a'))")
    with pytest.raises(ValidationError, match="table function words is not allowed here"):
        session.execute_one("SELECT words(s) FROM words")
