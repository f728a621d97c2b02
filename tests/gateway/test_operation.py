"""Gateway operations: states, Flink's result-token rules, paging, live changelogs, cancel."""

from __future__ import annotations

import pytest

from flowsql.errors import SqlParseError, ValidationError
from flowsql.gateway.operation import OperationStatus
from flowsql.gateway.sessions import SessionManager
from flowsql.messages import ROW_KIND
from tests.waiting import until

BOUNDED = ("CREATE TABLE nums (k INT, v BIGINT) WITH ('connector' = 'datagen', "
           "'number-of-rows' = '25', 'fields.k.min' = '1', 'fields.k.max' = '3')")
LIVE = ("CREATE TABLE live (k INT, v BIGINT) WITH ('connector' = 'datagen', "
        "'rows-per-second' = '200', 'fields.k.min' = '1', 'fields.k.max' = '3')")


@pytest.fixture
def manager(flowsql_home):
    m = SessionManager(flowsql_home, idle_timeout_s=0)
    yield m
    m.shutdown()


def done(op):
    assert op.wait(60)
    return op


def test_a_bounded_select_pages_by_token_and_a_retry_returns_the_same_page(manager):
    s = manager.open()
    assert done(s.execute(BOUNDED)).status is OperationStatus.FINISHED
    op = done(s.submit("SELECT k, v FROM nums"))
    assert op.status is OperationStatus.FINISHED
    first = op.fetch(0, 10)
    assert (first.result_type, first.next_token, first.data.num_rows) == ("PAYLOAD", 1, 10)
    assert first.is_query and first.schema.names == ["k", "v"]
    assert op.fetch(0, 10) is first  # the client lost the answer and asks again
    pages = [first, op.fetch(1, 10), op.fetch(2, 10)]
    assert [p.data.num_rows for p in pages] == [10, 10, 5]
    end = op.fetch(3, 10)
    assert (end.result_type, end.next_token) == ("EOS", None)
    with pytest.raises(ValidationError, match="expecting 3 or 4"):
        op.fetch(1, 10)


def test_a_statement_without_rows_answers_ok_and_a_bad_one_is_an_error(manager):
    s = manager.open()
    ok = done(s.submit("SET 'parallelism.default' = '1'")).fetch(0)
    assert (ok.kind, ok.data.to_pylist()) == ("SUCCESS", [{"result": "OK"}])
    bad = done(s.submit("SELEC 1"))
    assert bad.status is OperationStatus.ERROR and isinstance(bad.error, SqlParseError)
    with pytest.raises(SqlParseError):
        bad.fetch(0)


def test_a_live_changelog_streams_with_row_kinds_then_cancel_stops_it(manager):
    s = manager.open()
    done(s.execute(LIVE))
    op = done(s.submit("SELECT k, COUNT(*) AS c FROM live GROUP BY k"))
    assert op.status is OperationStatus.FINISHED and op.job_id
    seen: list = []
    token = 0

    def more():
        nonlocal token
        page = op.fetch(token, 50)
        if page.result_type == "PAYLOAD":
            token = page.next_token
            seen.extend(page.data.to_pylist())
        return len(seen) >= 8

    until("live changelog rows", more, timeout=60)
    assert all(ROW_KIND in r for r in seen) and {r[ROW_KIND] for r in seen} >= {0}
    op.cancel()
    assert op.status is OperationStatus.CANCELED
    with pytest.raises(ValidationError, match="canceled"):
        op.fetch(token)


def test_sessions_keep_their_settings_apart_and_the_idle_ones_are_closed(flowsql_home):
    m = SessionManager(flowsql_home, idle_timeout_s=0.3, check_interval_s=0.05)
    try:
        a, b = m.open({"parallelism.default": "2"}), m.open()
        assert a.session.config.get("parallelism.default") == "2"
        assert b.session.config.get("parallelism.default") != "2"
        assert len(m) == 2
        until("idle sessions closed", lambda: len(m) == 0, timeout=10)
        with pytest.raises(ValidationError, match="does not exist"):
            m.get(a.handle)
    finally:
        m.shutdown()


def test_a_client_that_stops_reading_holds_the_job_back_instead_of_filling_memory(manager):
    """The slow-reader policy: rows wait in the job's bounded result queue, so once a client
    stops fetching, the source stops too (its records-in count stops growing)."""
    from flowsql.operators.source import DEFAULT_BATCH_SIZE
    from flowsql.session.streaming import STREAM_CAPACITY, cluster

    s = manager.open()
    done(s.execute("CREATE TABLE fast (id BIGINT, s STRING) WITH ('connector' = 'datagen')"))
    op = done(s.submit("SELECT id, s FROM fast"))
    assert op.fetch(0, 10).result_type == "PAYLOAD"  # one page read, then nothing
    jm = cluster()

    def records_in() -> int:
        return jm.totals(op.job_id).records_in

    readings: list[int] = []

    def steady() -> bool:
        readings.append(records_in())
        return len(readings) >= 3 and readings[-1] == readings[-3] > 0

    until("the source to stop behind the unread result", steady, timeout=60, every=0.5)
    # bounded by the result queue and the channels before it (a few queue-fulls of source
    # batches at most), not an endless stream (26,876 rows when this was written)
    assert readings[-1] <= 4 * STREAM_CAPACITY * DEFAULT_BATCH_SIZE
    op.cancel()
