"""Planning errors: unsupported constructs name themselves; invalid queries explain why."""

from __future__ import annotations

import pytest

from flowsql.errors import NotSupportedError, PlanError, ValidationError

DDL = """
CREATE TABLE t (k INT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'datagen', 'number-of-rows' = '10');
CREATE TABLE u (k INT, v BIGINT) WITH ('connector' = 'datagen');
CREATE TABLE no_wm (k INT, ts TIMESTAMP(3)) WITH ('connector' = 'datagen', 'number-of-rows' = '1');
"""


@pytest.fixture
def s(session):
    session.execute_one(DDL)
    return session


@pytest.mark.parametrize(
    "sql, construct",
    [
        ("SELECT k, SUM(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM t", "after CURRENT ROW"),
        ("SELECT k, SUM(v) OVER (PARTITION BY k ORDER BY ts), COUNT(*) OVER (ORDER BY ts) FROM t", "same window"),
        ("SELECT * FROM (SELECT k, RANK() OVER (PARTITION BY k ORDER BY v) AS rn FROM t) WHERE rn <= 3", "RANK()"),
        ("SELECT * FROM (SELECT k, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v) AS rn FROM t) WHERE rn > 3", "upper bound"),
        ("SELECT k, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v) AS rn FROM t", "without a filter"),
        ("SELECT k FROM u LIMIT 3", "LIMIT on an unbounded input"),
        # scalar subqueries run in WHERE and the select list (flowsql.planner.scalar_subqueries)
        ("SELECT k FROM t GROUP BY k HAVING COUNT(*) > (SELECT MAX(k) FROM u)", "subquer"),
        ("SELECT k FROM t WHERE k > (SELECT v FROM u)", "more than one row"),
        ("SELECT STDDEV_POP(v) FROM t", "aggregate function STDDEV_POP"),
        ("SELECT k FROM t EXCEPT SELECT k FROM u", "EXCEPT"),
    ],
)
def test_not_supported_names_the_construct(s, sql, construct):
    with pytest.raises(NotSupportedError, match="not supported yet") as e:
        s.execute_one(sql)
    assert construct in str(e.value)


def test_order_by_non_time_column_is_explained(s):
    s.execute_one(
        "CREATE TABLE endless (v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
        "WITH ('connector' = 'datagen')"
    )
    with pytest.raises(ValidationError, match="time attribute") as e:
        s.execute_one("SELECT v FROM endless ORDER BY v DESC")
    assert "batch" in (e.value.hint or "")


def test_unknown_column_lists_available(s):
    with pytest.raises(ValidationError, match="column 'vv' not found"):
        s.execute_one("SELECT vv FROM t")


def test_ungrouped_column(s):
    with pytest.raises(ValidationError, match="neither grouped nor aggregated"):
        s.execute_one("SELECT k, v, COUNT(*) FROM t GROUP BY k")


def test_window_needs_event_time_attribute(s):
    with pytest.raises(ValidationError, match="event-time attribute"):
        s.execute_one(
            "SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE no_wm, DESCRIPTOR(ts), "
            "INTERVAL '1' SECOND)) GROUP BY window_start, window_end"
        )


def test_session_window_tvf_needs_group_by(s):
    """TUMBLE / HOP / CUMULATE without GROUP BY are window table functions
    (tests/e2e/test_differential_window_joins.py); SESSION needs its aggregation."""
    with pytest.raises(NotSupportedError, match="SESSION window TVF without GROUP BY"):
        s.execute_one("SELECT * FROM TABLE(SESSION(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND))")


def test_unsupported_watermark_strategy(session):
    session.execute_one(
        "CREATE TABLE w (ts TIMESTAMP(3), WATERMARK FOR ts AS ts + INTERVAL '1' SECOND) "
        "WITH ('connector' = 'datagen', 'number-of-rows' = '1')"
    )
    with pytest.raises(NotSupportedError, match="watermark strategy"):
        session.execute_one("SELECT ts FROM w")


def test_insert_column_count_mismatch(s):
    s.execute_one("CREATE TABLE bh (a INT) WITH ('connector' = 'blackhole')")
    with pytest.raises(ValidationError, match="produces 2 column"):
        s.execute_one("INSERT INTO bh SELECT k, v FROM t")


class AppendOnlyFactory:
    """A sink connector that declares itself append-only (no changelog)."""

    identifier = "append-only"

    def validate(self, table):
        return {}

    def source_reader(self, table, options, *, parallelism=1):
        raise AssertionError("not a source")

    def sink_accepts_changelog(self, table):
        return False


def test_updating_result_into_append_only_sink(s, monkeypatch):
    import connectors.registry as registry

    real = registry.get_factory
    monkeypatch.setattr(
        registry, "get_factory", lambda i: AppendOnlyFactory() if i == "append-only" else real(i)
    )
    s.execute_one("CREATE TABLE ao (k INT, c BIGINT) WITH ('connector' = 'append-only')")
    with pytest.raises(PlanError, match="only accepts appends") as e:
        s.execute_one("INSERT INTO ao SELECT k, COUNT(*) FROM t GROUP BY k")
    assert "GroupAggregate" in str(e.value) and "PRIMARY KEY" in (e.value.hint or "")
