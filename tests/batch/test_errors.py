"""User errors in batch mode: each is a FlowSQLError with a clear message, never raw DuckDB."""

from __future__ import annotations

import threading

import pytest

from flowsql.errors import (
    CatalogError,
    FlowSQLError,
    NotSupportedError,
    QueryCancelled,
    ValidationError,
)


def test_streaming_mode_runs_the_same_query(session, data_files):
    session.execute_one(
        f"CREATE TABLE t (a INT) WITH ('connector' = 'filesystem', 'path' = '{data_files['keys.parquet']}', "
        "'format' = 'parquet')"
    )
    streamed = session.execute_one("SELECT * FROM t").table
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    batched = session.execute_one("SELECT * FROM t").table
    assert sorted(streamed.column(0).to_pylist(), key=str) == sorted(batched.column(0).to_pylist(), key=str)


def test_unknown_column_names_column_and_candidates(bsession):
    with pytest.raises(ValidationError) as info:
        bsession.execute_one("SELECT id, nosuch FROM bids")
    err = info.value
    assert "nosuch" in err.message
    assert "price" in (err.hint or "") and "window_start" not in (err.hint or "")
    assert "__" not in err.render()


def test_unknown_qualified_column(bsession):
    with pytest.raises(ValidationError, match="unknown column 'zzz'"):
        bsession.execute_one("SELECT b.zzz FROM bids AS b")


def test_unknown_table(bsession):
    with pytest.raises(CatalogError, match="nope"):
        bsession.execute_one("SELECT * FROM nope")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'abc' + 1 FROM bids",
        "SELECT SUM(k) FROM bids",
        "SELECT k + 1 FROM bids",
    ],
)
def test_type_mismatch(bsession, sql):
    with pytest.raises(ValidationError, match="type mismatch"):
        bsession.execute_one(sql)


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        ("SELECT MY_UDF(k) FROM bids", "function MY_UDF"),
        ("SELECT * FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' MONTH))", "window interval unit"),
    ],
)
def test_unsupported_constructs(bsession, sql, construct):
    with pytest.raises(NotSupportedError, match=f"not supported yet: {construct}"):
        bsession.execute_one(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM TABLE(read_parquet('/etc/x.parquet'))",
        "SELECT read_text('/etc/passwd') FROM bids",
    ],
)
def test_sandbox_escape_rejected_before_duckdb(bsession, sql):
    with pytest.raises(FlowSQLError) as info:
        bsession.execute_one(sql)
    assert isinstance(info.value, ValidationError | CatalogError)


def test_insert_column_count_mismatch(bsession, tmp_path):
    bsession.execute_one(
        f"CREATE TABLE o (a BIGINT) WITH ('connector' = 'filesystem', 'path' = '{tmp_path}', 'format' = 'csv')"
    )
    with pytest.raises(ValidationError, match="column count mismatch"):
        bsession.execute_one("INSERT INTO o SELECT id, k FROM bids")


def test_explain_shows_duckdb_sql_and_plan(bsession):
    result = bsession.execute_one(
        "EXPLAIN SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), "
        "INTERVAL '10' SECOND)) GROUP BY window_start, window_end"
    )
    assert "== DuckDB SQL" in result.message and "== DuckDB plan ==" in result.message
    assert "TIME_BUCKET" in result.message


def test_cancel_interrupts_running_query(bsession):
    bsession.execute_one(
        "CREATE TABLE big (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '3000', "
        "'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '3000')"
    )
    errors: list[BaseException] = []

    def run() -> None:
        try:
            bsession.execute_one("SELECT COUNT(*) FROM big a, big b, big c WHERE a.id + b.id <> c.id")
        except BaseException as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    while thread.is_alive():
        bsession.cancel()
        thread.join(0.05)
    assert errors and isinstance(errors[0], QueryCancelled), errors
    # the session stays usable
    assert bsession.execute_one("SELECT COUNT(*) AS c FROM keys").table.num_rows == 1


def test_explain_insert_writes_nothing(bsession, tmp_path):
    out = tmp_path / "sink"
    out.mkdir()
    bsession.execute_one(
        f"CREATE TABLE sink (k STRING, c BIGINT) WITH ('connector' = 'filesystem', 'path' = '{out}', "
        "'format' = 'csv')"
    )
    text = bsession.execute_one("EXPLAIN INSERT INTO sink SELECT k, COUNT(*) FROM bids GROUP BY k").message
    assert "INSERT INTO sink" in text and "== DuckDB plan ==" in text
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("query", [
    "SELECT window_start, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(v), "
    "INTERVAL '1' SECOND)) GROUP BY window_start, window_end",
    "SELECT COUNT(*) AS n FROM (SELECT k, v FROM bids) GROUP BY TUMBLE(v, INTERVAL '1' SECOND)",
    "WITH w AS (SELECT k, v FROM bids) SELECT window_start FROM TABLE(HOP(TABLE w, "
    "DESCRIPTOR(v), INTERVAL '1' SECOND, INTERVAL '2' SECOND))",
])
def test_window_over_a_column_that_is_no_timestamp(bsession, query):
    with pytest.raises(ValidationError, match=r"time column 'v' is INT, not a TIMESTAMP "
                                              r"\(line 1, column \d+\)"):
        bsession.execute_one(query)


def test_window_over_a_timestamp_without_watermark_runs(bsession):
    result = bsession.execute_one(
        "SELECT window_start, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE (SELECT k, ts AS t FROM "
        "bids), DESCRIPTOR(t), INTERVAL '1' HOUR)) GROUP BY window_start, window_end").table
    assert sum(result.column("n").to_pylist()) > 0
