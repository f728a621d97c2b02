"""Runtime behaviour seen through the Session: late-row counts in SHOW JOBS, and mini-batches
that bound how long a row waits (real planner, real MiniCluster, real files).

Timing rule: tests wait for rows to *arrive* within a generous timeout; they never assert on
how long anything took.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from connectors.base import SourceReader
from flowsql.messages import ROW_KIND, RowKind
from flowsql.operators.base import OperatorContext
from flowsql.operators.source import SourceOperator, column_timestamps

WAIT_S = 20.0
BASE = datetime(2024, 1, 1)


def _job_row(session, job_id: str) -> dict:
    jobs = session.execute_one("SHOW JOBS").table.to_pylist()
    return next(j for j in jobs if j["job id"] == job_id)


# -- late rows ---------------------------------------------------------------------------------
def _late_input() -> tuple[list[float], int]:
    """Event times (seconds) in file order, and how many are late with a 1 s delay, 10 s
    windows and watermarks at least every 5 rows.

    Late rows come at least 5 rows after a row that moved the watermark past their window's
    end, so they are late however the file is cut into batches of <= 5 rows."""
    seconds = [i * 0.5 for i in range(40)]  # 0 .. 19.5 s: windows [0,10) and [10,20)
    seconds += [2.0] * 5  # LATE: window [0,10) fired once a row >= 11 s was seen
    seconds += [19.2] * 3  # out of order but within the 1 s delay: on time
    seconds += [20 + i * 0.5 for i in range(20)]  # 20 .. 29.5 s
    seconds += [15.0] * 5  # LATE: window [10,20) fired once a row >= 21 s was seen
    seconds += [30.0, 31.0]
    return seconds, 10


def test_late_rows_reach_late_sink_and_show_jobs(session, tmp_path):
    seconds, late_expected = _late_input()
    src = tmp_path / "in"
    src.mkdir()
    lines = [
        json.dumps({"k": i % 3, "ts": (BASE + timedelta(seconds=s)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]})
        for i, s in enumerate(seconds)
    ]
    (src / "events.json").write_text("\n".join(lines) + "\n")
    session.execute_one(
        f"CREATE TABLE late_rows (k INT, ts TIMESTAMP(3)) WITH ('connector' = 'filesystem', "
        f"'path' = '{tmp_path / 'late'}', 'format' = 'csv')"
    )
    session.execute_one(
        f"CREATE TABLE counts (window_start TIMESTAMP(3), c BIGINT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{tmp_path / 'out'}', 'format' = 'csv')"
    )
    session.execute_one(
        "CREATE TABLE events (k INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) "
        f"WITH ('connector' = 'filesystem', 'path' = '{src}', 'format' = 'json', "
        "'late-data.sink' = 'late_rows')"
    )
    session.execute_one("SET 'table.dml-sync' = 'true'")
    session.execute_one("SET 'table.exec.mini-batch.size' = '5'")  # watermarks every 5 rows
    r = session.execute_one(
        "INSERT INTO counts SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE events, "
        "DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end"
    )
    # 1. the late rows landed in the late-data table, unchanged
    late = [ln for f in (tmp_path / "late").iterdir() for ln in f.read_text().splitlines()]
    assert len(late) == late_expected
    assert sorted(ln.split(",")[1][:19] for ln in late) == (
        ["2024-01-01 00:00:02"] * 5 + ["2024-01-01 00:00:15"] * 5
    )
    # 2. on time + late = input
    out = [ln.split(",") for f in (tmp_path / "out").iterdir() for ln in f.read_text().splitlines()]
    on_time = sum(int(c) for _, c in out)
    assert on_time + len(late) == len(seconds)
    assert sorted(int(c) for _, c in out) == sorted([20, 23, 20, 2])
    # 3. SHOW JOBS counts the job's late rows, and each row once on the way in and out
    job = _job_row(session, r.job_id)
    assert job["status"] == "FINISHED"
    assert job["late records"] == late_expected
    assert job["records in"] == len(seconds)
    assert job["records out"] == len(out)


def test_show_jobs_columns_and_live_counts(session):
    session.execute_one(
        "CREATE TABLE endless (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '200')"
    )
    session.execute_one("CREATE TABLE bh (id BIGINT) WITH ('connector' = 'blackhole')")
    r = session.execute_one("INSERT INTO bh SELECT id FROM endless WHERE id IS NOT NULL")
    try:
        jobs = session.execute_one("SHOW JOBS").table
        assert jobs.column_names == [
            "job id", "job name", "status", "start time", "records in", "records out", "late records",
            "malformed", "restarts", "last checkpoint",
        ]
        deadline = time.monotonic() + WAIT_S
        while _job_row(session, r.job_id)["records out"] == 0:
            assert time.monotonic() < deadline, "no rows reached the sink"
            time.sleep(0.05)
        job = _job_row(session, r.job_id)
        assert job["status"] == "RUNNING" and job["late records"] == 0
        assert job["records in"] >= job["records out"] > 0
    finally:
        session.execute_one(f"STOP JOB '{r.job_id}'")


def test_show_jobs_leaves_out_a_job_forgotten_after_the_listing(session, monkeypatch):
    """The JobManager forgets its oldest ended jobs as new ones end; one forgotten between
    SHOW JOBS' listing and its per-job counts is left out (it was an error before)."""
    from flowsql.session import streaming

    session.execute_one("CREATE TABLE bh (id BIGINT) WITH ('connector' = 'blackhole')")
    finish = "INSERT INTO bh VALUES (1)"
    first = session.execute_one(finish).job_id
    real = streaming.cluster(session)
    real.result(first, WAIT_S)
    jm = real.jobmanager

    class ForgetsAfterListing:
        def __getattr__(self, name):
            return getattr(real, name)

        def list_jobs(self):
            jobs = real.list_jobs()
            ended = sum(1 for j in jobs if j.state in ("FINISHED", "FAILED", "CANCELED"))
            monkeypatch.setattr(jm, "max_finished_jobs", ended)
            real.result(session.execute_one(finish).job_id, WAIT_S)  # ends: the oldest goes
            return jobs

    listed = real.list_jobs()
    oldest = min((j for j in listed if j.end_time), key=lambda j: j.end_time).job_id
    monkeypatch.setattr(streaming, "cluster", lambda session=None: ForgetsAfterListing())
    shown = session.execute_one("SHOW JOBS").table.column("job id").to_pylist()
    assert oldest not in shown and shown


# -- mini-batches ------------------------------------------------------------------------------
SLOW = (
    "CREATE TABLE slow (id BIGINT, k INT) WITH ('connector' = 'datagen', 'rows-per-second' = '20', "
    "'fields.k.min' = '1', 'fields.k.max' = '3', 'seed' = '7')"
)


def _first_batches(stream, n: int) -> list[pa.RecordBatch]:
    batches: list[pa.RecordBatch] = []
    deadline = time.monotonic() + WAIT_S
    while len(batches) < n:
        assert time.monotonic() < deadline, f"only {len(batches)} batch(es) arrived"
        for batch in stream.batches(timeout=0.5):  # live: yields as long as rows come
            batches.append(batch)
            if len(batches) >= n:
                break
    return batches


@pytest.mark.parametrize(
    "settings",
    [
        [],  # defaults: the source's latency bound (200 ms)
        ["SET 'table.exec.mini-batch.enabled' = 'true'",
         "SET 'table.exec.mini-batch.allow-latency' = '100 ms'",
         "SET 'table.exec.mini-batch.size' = '5000'"],  # size never reached: latency flushes
    ],
)
def test_slow_source_rows_arrive_promptly(session, settings):
    session.execute_one(SLOW)
    for s in settings:
        session.execute_one(s)
    stream = session.execute_one("SELECT id, k FROM slow").extra["stream"]
    try:
        batches = _first_batches(stream, 3)
    finally:
        stream.cancel()
    # a few small batches, not one size-threshold burst (a datagen block is 1024 rows)
    assert sum(b.num_rows for b in batches) < 1024
    assert len(batches) >= 3 and all(b.num_rows > 0 for b in batches)


def test_group_aggregate_emits_updates_per_mini_batch(session):
    session.execute_one(SLOW)
    session.execute_one("SET 'table.exec.mini-batch.enabled' = 'true'")
    session.execute_one("SET 'table.exec.mini-batch.allow-latency' = '100 ms'")
    session.execute_one("SET 'table.exec.mini-batch.size' = '5000'")
    r = session.execute_one("SELECT k, COUNT(*) AS c FROM slow GROUP BY k")
    stream = r.extra["stream"]
    assert stream.changelog
    try:
        batches = _first_batches(stream, 4)
    finally:
        stream.cancel()
    latest: dict[int, int] = {}
    for b in batches:
        rows = b.to_pylist()
        kinds = [RowKind(row[ROW_KIND]) for row in rows]
        adds = [row for row in rows if RowKind(row[ROW_KIND]) in (RowKind.INSERT, RowKind.UPDATE_AFTER)]
        # one result per touched key per mini-batch, retractions first
        assert len({row["k"] for row in adds}) == len(adds)
        assert kinds == sorted(kinds, key=lambda k: k not in (RowKind.UPDATE_BEFORE, RowKind.DELETE))
        for row in adds:
            assert row["c"] > latest.get(row["k"], 0)  # counts only grow
            latest[row["k"]] = row["c"]
    assert any(RowKind(k) == RowKind.UPDATE_AFTER for b in batches for k in b.column(ROW_KIND).to_pylist())
    assert sum(latest.values()) < 1024  # updates came per small mini-batch


class _OneBigBatch(SourceReader):
    def splits(self) -> list[str]:
        return ["only"]

    def read(self, split: str) -> Iterator[pa.RecordBatch | None]:
        ts = pa.array([1000 * i for i in range(23)], pa.timestamp("ms"))
        yield pa.record_batch({"ts": ts})


def test_mini_batch_size_bounds_every_batch_and_moves_watermarks():
    events: list[tuple[str, int]] = []

    class Out:
        def emit(self, batch: pa.RecordBatch) -> None:
            events.append(("batch", batch.num_rows))

        def watermark(self, timestamp: int) -> None:
            events.append(("wm", timestamp))

        def idle(self, idle: bool) -> None:
            events.append(("idle", int(idle)))

    source = SourceOperator(_OneBigBatch(), timestamps=column_timestamps(["ts"]), batch_size=10,
                            max_batch_rows=10, allow_latency_ms=60_000)
    source.open(OperatorContext("1-source"))
    source.run(Out(), threading.Event())
    # one reader batch of 23 rows -> 10 + 10 + 3, each slice moving the watermark on its own
    # (the end of input, not a watermark, follows the last one: the task sends the final one)
    assert events == [("batch", 10), ("wm", 8999), ("batch", 10), ("wm", 18999), ("batch", 3)]


def test_paced_datagen_rows_do_not_depend_on_pacing():
    from catalog.table import Column, ObjectName, TableDefinition
    from connectors.datagen.factory import DatagenFactory
    from connectors.datagen.reader import DatagenReader

    table = TableDefinition(
        ObjectName("c", "d", "t"), (Column("id", "BIGINT"), Column("v", "INT")),
        options={"connector": "datagen", "seed": "3", "number-of-rows": "3000",
                 "rows-per-second": "20000"},
    )
    factory = DatagenFactory()
    options = factory.validate(table)
    gen = factory.generator(table, options)
    paced = DatagenReader(gen, shards=2, block=512)
    got = [b for split in paced.splits() for b in paced.read(split) if b is not None]
    # how many rows are due per tick depends on the machine's speed; block bounds do not
    assert max(b.num_rows for b in got) <= 512 and len(got) >= 3000 // 512
    table_paced = pa.Table.from_batches(got).sort_by("id")
    whole = pa.Table.from_batches([gen.generate(0, 3000)]).sort_by("id")
    assert table_paced.equals(whole)
    assert paced.position("shard-1-of-2") == {"next_block": 7, "offset": 0}
