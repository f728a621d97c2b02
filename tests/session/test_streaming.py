"""End-to-end streaming through Session on bounded sources (real MiniCluster, real files).

Window and aggregate results are compared with batch mode (DuckDB) on the same tables: with
a bounded source the final watermark fires every window, so both engines must agree.
"""

from __future__ import annotations

import time

import pyarrow as pa
import pytest

from flowsql.errors import ValidationError

EVENTS = """
CREATE TABLE events (
  k INT, v BIGINT, name STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '{delay}' SECOND
) WITH ('connector' = 'datagen', 'number-of-rows' = '2000', 'seed' = '11',
  'fields.k.min' = '1', 'fields.k.max' = '4', 'fields.v.min' = '0', 'fields.v.max' = '100',
  'fields.name.length' = '1',
  'fields.ts.min' = '2024-01-01 00:00:00', 'fields.ts.max' = '2024-01-01 00:02:00'{extra})
"""


def events(session, delay: int = 200, extra: str = "") -> None:
    session.execute_one(EVENTS.format(delay=delay, extra=extra))


def rows(table: pa.Table) -> list[tuple]:
    return sorted(tuple(r.values()) for r in table.to_pylist())


def both_modes(session, sql: str) -> tuple[list[tuple], list[tuple]]:
    streaming = session.execute_one(sql).table
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    try:
        batch = session.execute_one(sql).table
    finally:
        session.execute_one("RESET 'execution.runtime-mode'")
    return rows(streaming), rows(batch)


def test_filter_project(session):
    events(session)
    result = session.execute_one("SELECT k, v * 2 AS v2, UPPER(name) AS n FROM events WHERE v > 50")
    assert result.kind == "table"
    assert result.table.column_names == ["k", "v2", "n"]
    s, b = both_modes(session, "SELECT k, v * 2 AS v2 FROM events WHERE v > 50")
    assert s == b and len(s) > 0


@pytest.mark.parametrize(
    "window",
    [
        "TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND)",
        "HOP(TABLE events, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '15' SECOND)",
        "CUMULATE(TABLE events, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND)",
        "SESSION(TABLE events PARTITION BY k, DESCRIPTOR(ts), INTERVAL '1' SECOND)",
    ],
)
def test_window_kinds_match_batch(session, window):
    events(session)  # the delay (200 s) covers the random timestamps' range: nothing is late
    sql = (
        f"SELECT k, window_start, window_end, COUNT(*) AS c, SUM(v) AS s, MAX(v) AS m "
        f"FROM TABLE({window}) GROUP BY k, window_start, window_end"
    )
    s, b = both_modes(session, sql)
    assert s == b and len(s) > 0


def test_aggregates_with_filter_distinct_and_expressions(session):
    events(session)
    sql = (
        "SELECT window_start, COUNT(DISTINCT k) AS dk, SUM(v) FILTER (WHERE k = 1) AS s1, "
        "MIN(v) AS lo, SUM(v) * 2 AS twice "
        "FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '30' SECOND)) "
        "GROUP BY window_start, window_end"
    )
    s, b = both_modes(session, sql)
    assert s == b and len(s) == 4


def test_legacy_group_window(session):
    events(session)
    sql = (
        "SELECT k, TUMBLE_START(ts, INTERVAL '20' SECOND) AS ws, "
        "TUMBLE_END(ts, INTERVAL '20' SECOND) AS we, COUNT(*) AS c "
        "FROM events GROUP BY k, TUMBLE(ts, INTERVAL '20' SECOND)"
    )
    s, b = both_modes(session, sql)
    assert s == b and len(s) == 4 * 6


def test_group_aggregate_changelog_applied(session):
    events(session)
    session.execute_one("SET 'table.exec.mini-batch.size' = '100'")  # several batches: updates
    result = session.execute_one("SELECT k, COUNT(*) AS c, SUM(v) AS s FROM events GROUP BY k")
    changelog = result.extra["changelog"]
    assert "$row_kind" in changelog.column_names
    assert set(changelog.column("$row_kind").to_pylist()) > {0}  # updates happened
    s, b = both_modes(session, "SELECT k, COUNT(*) AS c, SUM(v) AS s FROM events GROUP BY k HAVING COUNT(*) > 400")
    assert s == b


def test_distinct_and_union_all(session):
    events(session)
    s, b = both_modes(session, "SELECT DISTINCT k FROM events")
    assert s == b == [(1,), (2,), (3,), (4,)]
    s, b = both_modes(
        session, "SELECT k, v FROM events WHERE k = 1 UNION ALL SELECT k, v FROM events WHERE v < 10"
    )
    assert s == b


def test_nexmark_views(session):
    session.execute_one("""
    CREATE TABLE datagen (
      event_type INT,
      bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3)>,
      dateTime AS bid.dateTime,
      WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
    ) WITH ('connector' = 'nexmark', 'events.num' = '5000')""")
    session.execute_one(
        "CREATE VIEW bid AS SELECT bid.auction AS auction, bid.price AS price, dateTime "
        "FROM datagen WHERE event_type = 2"
    )
    sql = (
        "SELECT auction, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), "
        "INTERVAL '1' SECOND)) GROUP BY auction, window_start, window_end"
    )
    s, b = both_modes(session, sql)
    assert s == b and len(s) > 0


def test_order_by_and_limit_on_bounded_input(session):
    events(session)
    t = session.execute_one("SELECT ts, v FROM events ORDER BY ts LIMIT 5").table
    ts = t.column("ts").to_pylist()
    assert len(ts) == 5 and ts == sorted(ts)
    # Bounded input: the final result can be sorted on any column (Flink refuses this).
    v = session.execute_one("SELECT v FROM events ORDER BY v DESC").table.column("v").to_pylist()
    assert v == sorted(v, reverse=True)


def test_insert_into_filesystem_print_and_blackhole(session, tmp_path, capsys):
    events(session)
    out = tmp_path / "out"
    session.execute_one(
        f"CREATE TABLE fs_out (k INT, v BIGINT) WITH ('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')"
    )
    session.execute_one("CREATE TABLE p (k INT, c BIGINT) WITH ('connector' = 'print')")
    session.execute_one("CREATE TABLE bh (k INT, v BIGINT) WITH ('connector' = 'blackhole')")
    session.execute_one("SET 'table.dml-sync' = 'true'")
    session.execute_one("SET 'table.exec.mini-batch.size' = '100'")
    r = session.execute_one("INSERT INTO fs_out SELECT k, v FROM events WHERE k = 2")
    assert r.kind == "job" and r.job_id
    lines = [ln for f in out.iterdir() for ln in f.read_text().splitlines()]
    assert len(lines) == session.execute_one("SELECT COUNT(*) AS c FROM events WHERE k = 2").table.column("c").to_pylist()[-1]
    session.execute_one("INSERT INTO p SELECT k, COUNT(*) FROM events GROUP BY k")
    printed = capsys.readouterr().out
    assert "+I[" in printed and "-U[" in printed and "+U[" in printed
    r = session.execute_one(
        "EXECUTE STATEMENT SET BEGIN INSERT INTO bh SELECT k, v FROM events; "
        "INSERT INTO bh SELECT k, v FROM events WHERE v > 1; END"
    )
    assert r.kind == "job"


def test_changelog_into_filesystem_writes_row_kind(session, tmp_path):
    events(session)
    out = tmp_path / "agg"
    session.execute_one(
        f"CREATE TABLE agg (k INT, c BIGINT) WITH ('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')"
    )
    session.execute_one("SET 'table.dml-sync' = 'true'")
    session.execute_one("SET 'table.exec.mini-batch.size' = '100'")
    session.execute_one("INSERT INTO agg SELECT k, COUNT(*) FROM events GROUP BY k")
    lines = [ln for f in out.iterdir() for ln in f.read_text().splitlines()]
    kinds = {ln.rsplit(",", 1)[1] for ln in lines}
    assert {"+I", "-U", "+U"} <= kinds


def test_late_rows_go_to_late_data_sink(session, tmp_path):
    late_dir = tmp_path / "late"
    session.execute_one(
        f"CREATE TABLE late_rows (k INT, v BIGINT, ts TIMESTAMP(3)) WITH ("
        f"'connector' = 'filesystem', 'path' = '{late_dir}', 'format' = 'csv')"
    )
    events(session, delay=0, extra=", 'late-data.sink' = 'late_rows'")
    session.execute_one("SET 'table.exec.mini-batch.size' = '100'")  # watermarks between batches
    t = session.execute_one(
        "SELECT window_start, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), "
        "INTERVAL '10' SECOND)) GROUP BY window_start, window_end"
    ).table
    on_time = sum(t.column("c").to_pylist())
    late = [ln for f in late_dir.iterdir() for ln in f.read_text().splitlines()] if late_dir.exists() else []
    assert len(late) > 0  # random timestamps with no delay: many rows arrive late
    assert on_time + len(late) == 2000


def test_show_jobs_and_stop_job_on_unbounded_datagen(session):
    session.execute_one(
        "CREATE TABLE endless (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '100')"
    )
    session.execute_one("CREATE TABLE sink_bh (id BIGINT) WITH ('connector' = 'blackhole')")
    r = session.execute_one("INSERT INTO sink_bh SELECT id FROM endless")
    job_id = r.job_id
    jobs = session.execute_one("SHOW JOBS").table
    assert jobs.column_names[:4] == ["job id", "job name", "status", "start time"]
    mine = [row for row in jobs.to_pylist() if row["job id"] == job_id]
    assert mine and mine[0]["status"] == "RUNNING"
    session.execute_one(f"STOP JOB '{job_id}'")
    after = {row["job id"]: row["status"] for row in session.execute_one("SHOW JOBS").table.to_pylist()}
    assert after[job_id] == "CANCELED"


def test_unbounded_select_streams_live(session):
    session.execute_one(
        "CREATE TABLE endless (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '1000')"
    )
    r = session.execute_one("SELECT id FROM endless WHERE id IS NOT NULL")
    stream = r.extra["stream"]
    assert r.kind == "job" and stream.schema.names == ["id"]
    got = 0
    deadline = time.monotonic() + 30
    while got == 0 and time.monotonic() < deadline:
        for batch in stream.batches(timeout=1.0):
            got += batch.num_rows
            break  # a live stream yields for as long as rows keep coming
    stream.cancel()
    assert got > 0


def test_parallel_two_phase_window_and_group_aggregate(session):
    events(session)
    session.execute_one("SET 'parallelism.default' = '2'")
    session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    window = (
        "SELECT k, window_start, COUNT(*) AS c, SUM(v) AS s, MIN(v) AS lo, AVG(v) AS a "
        "FROM TABLE(HOP(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '20' SECOND)) "
        "GROUP BY k, window_start, window_end"
    )
    assert "LocalGlobal" in session.execute_one("EXPLAIN " + window).message
    s, b = both_modes(session, window)
    assert s == b and len(s) > 0
    s, b = both_modes(session, "SELECT name, COUNT(*) AS c, SUM(v) AS s FROM events GROUP BY name")
    assert s == b and len(s) > 1


def test_embedded_parallelism_is_clamped_with_a_warning(session):
    events(session)
    session.execute_one("SET 'parallelism.default' = '2'")
    query = "SELECT name, COUNT(*) AS c FROM events GROUP BY name"
    assert "parallelism 2" not in session.execute_one("EXPLAIN " + query).message
    result = session.execute_one(query)
    assert len(result.warnings) == 1 and "runs at parallelism 1" in result.warnings[0]
    assert "flowsql cluster start --taskmanagers 2" in result.warnings[0]
    session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    assert session.execute_one(query).warnings == []


def test_remote_target_without_an_address_is_a_clear_error(session):
    events(session)
    session.execute_one("SET 'execution.target' = 'remote'")
    with pytest.raises(ValidationError, match="'jobmanager.address' is not set"):
        session.execute_one("SELECT name, COUNT(*) AS c FROM events GROUP BY name")
    with pytest.raises(ValidationError, match="invalid value 'cloud' for 'execution.target'"):
        session.execute_one("SET 'execution.target' = 'cloud'")


def test_statement_set_reads_its_source_once_and_feeds_every_insert(session, tmp_path):
    """EXECUTE STATEMENT SET: one job, one shared scan, each sink gets its INSERT's rows."""
    session.execute_one(
        "CREATE TABLE src (k INT, v BIGINT) WITH ('connector' = 'datagen', "
        "'number-of-rows' = '5000', 'fields.k.min' = '1', 'fields.k.max' = '5', 'seed' = '3')")
    for name in ("all_rows", "big_k"):
        session.execute_one(
            f"CREATE TABLE {name} (k INT, v BIGINT) WITH ('connector' = 'filesystem', "
            f"'path' = '{tmp_path / name}', 'format' = 'csv')")
    session.execute_one("SET 'table.dml-sync' = 'true'")
    r = session.execute_one(
        "EXECUTE STATEMENT SET BEGIN INSERT INTO all_rows SELECT k, v FROM src; "
        "INSERT INTO big_k SELECT k, v FROM src WHERE k > 2; END")
    from flowsql.session import streaming

    metrics = streaming.cluster(session).metrics(r.job_id)
    sources = [m for op, m in metrics.items() if "source" in op]
    assert sum(m.records_out for m in sources) == 5000  # read once, not twice
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    expected = session.execute_one("SELECT k, v FROM src").table.to_pylist()

    def rows(name):
        return sorted(tuple(map(int, ln.split(","))) for f in (tmp_path / name).iterdir()
                      if not f.name.startswith(".") for ln in f.read_text().splitlines())

    assert rows("all_rows") == sorted((e["k"], e["v"]) for e in expected)
    assert rows("big_k") == sorted((e["k"], e["v"]) for e in expected if e["k"] > 2)
