"""PARTITIONED BY filesystem tables: Hive-style directories written in both modes and read back
(checked against DuckDB's hive partitioning), NULL partitions, rolling by size, and partition
commit with success files (partition-time trigger driven by watermarks and checkpoints)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pyarrow as pa
import pytest

from connectors.filesystem.partitions import escape, unescape
from connectors.registry import validate_table
from flowsql.errors import ConnectorError
from flowsql.runtime.local import local_cluster
from flowsql.session import Session
from tests.waiting import until

ROWS = [(i, f"v{i % 7}" if i % 5 else None, f"2024-01-0{1 + i % 3}", i % 4) for i in range(60)]


def _session(tmp_path, mode: str) -> Session:
    s = Session(home=tmp_path / "home")
    s.execute_one(f"SET 'execution.runtime-mode' = '{mode}'")
    s.execute_one("SET 'table.dml-sync' = 'true'")
    return s


def _values(rows) -> str:
    def lit(v):
        return "CAST(NULL AS STRING)" if v is None else (f"'{v}'" if isinstance(v, str) else str(v))
    return ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows)


def _success(root):
    return sorted(str(p.parent.relative_to(root)) for p in root.rglob("_SUCCESS"))


@pytest.mark.parametrize("mode", ["streaming", "batch"])
@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_round_trip_equals_input_and_duckdb(tmp_path, mode, fmt):
    s = _session(tmp_path, mode)
    out = tmp_path / "out"
    s.execute_one(
        f"CREATE TABLE t (id INT, v STRING, dt STRING, hr INT) PARTITIONED BY (dt, hr) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out}', 'format' = '{fmt}', "
        "'csv.null-literal' = '\\N')" if fmt == "csv" else
        f"CREATE TABLE t (id INT, v STRING, dt STRING, hr INT) PARTITIONED BY (dt, hr) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out}', 'format' = '{fmt}')")
    s.execute_one(f"INSERT INTO t VALUES {_values(ROWS)}")
    dirs = sorted({str(p.parent.relative_to(out)) for p in out.rglob("part-*")})
    assert dirs == [f"dt=2024-01-0{d}/hr={h}" for d in (1, 2, 3) for h in range(4)]
    got = s.execute_one("SELECT * FROM t").table.sort_by("id")
    assert [tuple(r.values()) for r in got.to_pylist()] == ROWS
    if fmt == "parquet":  # partition columns are not inside the files; DuckDB reads the same
        assert duckdb.sql(f"SELECT * FROM read_parquet('{out}/*/*/*.parquet', hive_partitioning = false) LIMIT 0").columns == ["id", "v"]
        duck = duckdb.sql(
            f"SELECT id, v, CAST(dt AS VARCHAR), CAST(hr AS INT) FROM read_parquet('{out}/**/*.parquet', "
            "hive_partitioning = true) ORDER BY id").fetchall()
        assert duck == ROWS


@pytest.mark.parametrize("mode", ["streaming", "batch"])
def test_null_and_escaped_partition_values(tmp_path, mode):
    s = _session(tmp_path, mode)
    out = tmp_path / "out"
    s.execute_one(
        f"CREATE TABLE t (id INT, p STRING) PARTITIONED BY (p) WITH ('connector' = 'filesystem', "
        f"'path' = '{out}', 'format' = 'json')")
    s.execute_one("INSERT INTO t VALUES (1, CAST(NULL AS STRING)), (2, 'a/b=c%'), (3, ''), (4, 'x')")
    assert sorted(p.parent.name for p in out.rglob("part-*")) == [
        "p=__DEFAULT_PARTITION__", "p=a%2Fb%3Dc%25", "p=x"]
    got = s.execute_one("SELECT * FROM t").table.sort_by("id").to_pylist()
    assert got == [{"id": 1, "p": None}, {"id": 2, "p": "a/b=c%"}, {"id": 3, "p": None},
                   {"id": 4, "p": "x"}]


def test_custom_default_partition_name(tmp_path):
    s = _session(tmp_path, "batch")
    out = tmp_path / "out"
    s.execute_one(
        f"CREATE TABLE t (id INT, p INT) PARTITIONED BY (p) WITH ('connector' = 'filesystem', "
        f"'path' = '{out}', 'format' = 'csv', 'partition.default-name' = 'none')")
    s.execute_one("INSERT INTO t VALUES (1, CAST(NULL AS INT)), (2, 7)")
    assert sorted(p.parent.name for p in out.rglob("part-*")) == ["p=7", "p=none"]
    assert s.execute_one("SELECT * FROM t").table.sort_by("id").to_pylist() == [
        {"id": 1, "p": None}, {"id": 2, "p": 7}]


def test_escape_is_flinks():
    assert escape("a/b:c=d%e#f?g*h\\i'j\"k{l[m]n^o\x01p q") == (
        "a%2Fb%3Ac%3Dd%25e%23f%3Fg%2Ah%5Ci%27j%22k%7Bl%5Bm%5Dn%5Eo%01p q")
    assert unescape(escape("2024-01-01 10:00")) == "2024-01-01 10:00"


def _writer(make_table, out, **options):
    table = make_table([("id", "INT"), ("dt", "STRING"), ("hr", "STRING")], {
        "connector": "filesystem", "path": str(out), "format": "csv", **options})
    table = dataclasses.replace(table, **{"partition_keys": ("dt", "hr")})
    factory, opts = validate_table(table)
    return factory.sink_writer(table, opts)


def _clocked_writer(make_table, out, start: float, **options):
    """A writer whose processing time is ``now[0]`` seconds (returns ``(writer, now)``)."""
    w = _writer(make_table, out, **options)
    now = [start]
    w.committer.clock = lambda: now[0]
    w._last_check = int(start * 1000)
    return w, now


def _batch(ids, dt_, hr):
    return pa.record_batch({"a": pa.array(ids, pa.int32()), "b": [dt_] * len(ids),
                            "c": [hr] * len(ids)})


def _ms(text):
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp() * 1000)


HOURLY = {
    "sink.partition-commit.trigger": "partition-time",
    "sink.partition-commit.delay": "1 h",
    "sink.partition-commit.policy.kind": "success-file",
    "partition.time-extractor.timestamp-pattern": "$dt $hr:00:00",
}


def test_partition_time_commit_writes_success_only_after_watermark_and_checkpoint(
        tmp_path, make_table):
    out = tmp_path / "out"
    w = _writer(make_table, out, **HOURLY)
    w.begin_transactions()
    w.write(_batch([1, 2], "2024-01-01", "10"))
    w.write(_batch([3], "2024-01-01", "11"))
    w.on_watermark(_ms("2024-01-01T11:30:00"))  # past 10:00 + 1 h, not past 11:00 + 1 h
    state = w.prepare_commit(1)
    assert not list(out.rglob("_SUCCESS"))  # checkpoint 1 not complete yet
    w.on_watermark(_ms("2024-01-01T12:30:00"))  # after the barrier: counts for checkpoint 2
    w.commit(1)
    assert _success(out) == ["dt=2024-01-01/hr=10"]
    assert len(list(out.rglob("part-*.csv"))) == 2
    # recovery from checkpoint 1 (idempotent), with hr=11 still waiting for its commit
    w2 = _writer(make_table, out, **HOURLY)
    w2.begin_transactions()
    w2.recover(state)
    assert _success(out) == ["dt=2024-01-01/hr=10"]
    w2.on_watermark(_ms("2024-01-01T12:30:00"))
    w2.prepare_commit(2)
    assert _success(out) == ["dt=2024-01-01/hr=10"]
    w2.commit(2)
    assert _success(out) == ["dt=2024-01-01/hr=10", "dt=2024-01-01/hr=11"]


def test_process_time_commit_and_end_of_input(tmp_path, make_table):
    out = tmp_path / "out"
    w, now = _clocked_writer(make_table, out, 1000.0, **{
        "sink.partition-commit.policy.kind": "success-file",
        "sink.partition-commit.delay": "10 min"})
    w.begin_transactions()
    w.write(_batch([1], "d1", "1"))
    w.prepare_commit(1)
    w.commit(1)
    assert not list(out.rglob("_SUCCESS"))  # created 0 min ago, delay 10 min
    now[0] += 601
    w.write(_batch([2], "d2", "1"))
    w.prepare_commit(2)
    w.commit(2)
    assert _success(out) == ["dt=d1/hr=1"]
    w.finish()
    w.commit_all()  # the job finished: every partition is committed
    assert len(list(out.rglob("_SUCCESS"))) == 2


def test_rolling_by_size_writes_several_part_files(tmp_path, make_table):
    out = tmp_path / "out"
    w = _writer(make_table, out, **{"sink.rolling-policy.file-size": "1kb"})
    w.write(pa.record_batch({"a": pa.array(range(2000), pa.int32()), "b": ["d"] * 2000,
                             "c": ["h"] * 2000}))
    w.finish()
    parts = list((out / "dt=d" / "hr=h").glob("part-*.csv"))
    assert len(parts) > 5
    ids = sorted(int(line) for p in parts for line in p.read_text().split())
    assert ids == list(range(2000))


def test_rollover_interval_rolls_old_part_files(tmp_path, make_table):
    out = tmp_path / "out"
    w, now = _clocked_writer(make_table, out, 0.0, **{
        "sink.rolling-policy.rollover-interval": "1 min",
        "sink.rolling-policy.check-interval": "10 s"})
    w.write(_batch([1], "d", "h"))
    assert not list(out.rglob("part-*"))
    now[0] = 61.0
    w.write(_batch([2], "e", "h"))  # the check rolls d/h (61 s old); e/h is new
    assert [p.parent.parent.name for p in out.rglob("part-*")] == ["dt=d"]


@pytest.mark.parametrize("options, message", [
    ({"sink.partition-commit.policy.kind": "metastore"}, "no metastore|does not have"),
    ({"sink.partition-commit.policy.kind": "success-file,custom"}, "Unsupported sink.partition"),
    ({"partition.time-extractor.kind": "custom"}, "'custom' is not supported"),
    ({"sink.rolling-policy.file-size": "lots"}, "Invalid value 'lots'"),
])
def test_bad_partition_options(tmp_path, make_table, options, message):
    table = make_table([("id", "INT"), ("dt", "STRING")], {
        "connector": "filesystem", "path": str(tmp_path), "format": "csv", **options})
    table = dataclasses.replace(table, **{"partition_keys": ("dt",)})
    with pytest.raises(ConnectorError, match=message):
        validate_table(table)


def test_nexmark_q10_shape(tmp_path):
    s = _session(tmp_path, "streaming")
    out = tmp_path / "q10"
    s.execute_one("""
    CREATE TABLE datagen (
      event_type INT,
      bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), extra VARCHAR>,
      dateTime AS bid.dateTime,
      WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
    ) WITH ('connector' = 'nexmark', 'events.num' = '3000')""")
    s.execute_one("CREATE VIEW bid AS SELECT bid.auction AS auction, bid.bidder AS bidder, "
                  "bid.price AS price, dateTime, bid.extra AS extra FROM datagen "
                  "WHERE event_type = 2")
    s.execute_one(f"""
    CREATE TABLE fs_sink (
      auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), extra VARCHAR,
      dt STRING, hm STRING
    ) PARTITIONED BY (dt, hm) WITH (
      'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv',
      'sink.partition-commit.trigger' = 'partition-time',
      'sink.partition-commit.delay' = '1 min',
      'sink.partition-commit.policy.kind' = 'success-file',
      'partition.time-extractor.timestamp-pattern' = '$dt $hm:00',
      'sink.rolling-policy.rollover-interval' = '1 min'
    )""")
    s.execute_one("INSERT INTO fs_sink SELECT auction, bidder, price, dateTime, extra, "
                  "DATE_FORMAT(dateTime, 'yyyy-MM-dd'), DATE_FORMAT(dateTime, 'HH:mm') FROM bid")
    expected = s.execute_one("SELECT COUNT(*) AS n FROM bid").table.to_pylist()[0]["n"]
    parts = list(out.rglob("part-*.csv"))
    assert parts and all(p.parent.name.startswith("hm=") for p in parts)
    assert all(p.parent.parent.name.startswith("dt=") for p in parts)
    got = s.execute_one("SELECT * FROM fs_sink").table
    assert got.num_rows == expected
    check = got.to_pylist()[0]
    assert check["dt"] == check["dateTime"].strftime("%Y-%m-%d")
    assert check["hm"] == check["dateTime"].strftime("%H:%M")
    # the bounded input ended (final watermark): every partition is committed
    assert {p.parent for p in out.rglob("_SUCCESS")} == {p.parent for p in parts}


def test_checkpointed_stream_commits_only_complete_partitions(tmp_path):
    """A paced, watermarked stream (event time = id ms) into one partition per second with
    the partition-time trigger and a 1 s delay: while the job runs, every partition holding a
    _SUCCESS file is complete and visible (all its ids committed), and later partitions are
    not committed yet."""
    s = Session(home=tmp_path / "home")
    out = tmp_path / "out"
    for sql in [
        "CREATE TABLE src (id BIGINT, ts AS CAST(TO_TIMESTAMP_LTZ(id, 3) AS TIMESTAMP(3)), "
        "WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', "
        "'number-of-rows' = '1000000', 'rows-per-second' = '4000', 'fields.id.kind' = "
        "'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000')",
        f"CREATE TABLE out (id BIGINT, sec STRING) PARTITIONED BY (sec) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv', "
        "'sink.partition-commit.trigger' = 'partition-time', "
        "'sink.partition-commit.delay' = '1 s', "
        "'sink.partition-commit.policy.kind' = 'success-file')",
        "SET 'execution.checkpointing.interval' = '500 ms'",
        f"SET 'execution.checkpointing.dir' = '{tmp_path / 'chk'}'",
    ]:
        s.execute_one(sql)
    job_id = s.execute_one(
        "INSERT INTO out SELECT id, DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss') FROM src").job_id
    c = local_cluster()
    try:
        until("three committed partitions", lambda: len(_success(out)) >= 3, timeout=60)
    finally:
        c.cancel(job_id)
    committed = _success(out)
    seconds = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert committed == seconds[:len(committed)]  # a prefix of the seconds, in order
    for name in committed:
        k = int(name[-2:])  # sec=1970-01-01 00:00:kk
        ids = sorted(int(line) for f in (out / name).glob("part-*.csv")
                     for line in f.read_text().split())
        assert ids == list(range(max(1, k * 1000), (k + 1) * 1000)), name
    assert len(committed) < len(seconds)  # the running second is not committed


def test_unparsable_partition_time_is_a_clear_error(tmp_path, make_table):
    w = _writer(make_table, tmp_path / "out", **{**HOURLY, "partition.time-extractor."
                                                 "timestamp-pattern": "$dt"})
    w.begin_transactions()
    w.write(_batch([1], "yesterday", "10"))
    w.on_watermark(_ms("2024-01-01T00:00:00"))
    w.prepare_commit(1)
    with pytest.raises(ConnectorError, match="partition 'dt=yesterday/hr=10'.*'yesterday'"):
        w.commit(1)
