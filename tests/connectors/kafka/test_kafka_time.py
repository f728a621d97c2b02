"""Event time over Kafka: per-partition watermarks, an idle partition, and a windowed query
that equals the same query over a file and DuckDB's batch answer."""

from __future__ import annotations

import json
import random
import time
from datetime import datetime, timedelta

from tests.connectors.kafka.kafka_util import produce

BASE = datetime(2024, 1, 1)
WINDOWS = ("SELECT k, window_start, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE {t}, DESCRIPTOR(ts), "
           "INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end")


def _event(k: int, second: float) -> str:
    return json.dumps({"k": k, "ts": (BASE + timedelta(seconds=second)).isoformat(sep=" ")})


def _create(session, name: str, topic: str, bootstrap: str, extra: str = "") -> None:
    session.execute_one(
        f"CREATE TABLE {name} (k INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '0' SECOND) "
        f"WITH ('connector' = 'kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = "
        f"'{bootstrap}', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset'{extra})")


def _sorted(rows) -> list[tuple]:
    return sorted((r["k"], r["window_start"], r["c"]) for r in rows)


def test_watermark_is_the_minimum_over_partitions(session, bootstrap, new_topic):
    """Partition 0 runs 30 s ahead of partition 1; with one watermark per partition none of
    partition 1's (older) rows is late, whichever partition the source reads first."""
    topic = new_topic(partitions=2)
    produce(bootstrap, topic, [{"value": _event(0, s), "partition": 0} for s in range(30)]
            + [{"value": _event(0, s + 0.5), "partition": 1} for s in range(5)])
    _create(session, "ev", topic, bootstrap, ", 'scan.bounded.mode' = 'latest-offset'")
    rows = session.execute_one(WINDOWS.format(t="ev")).table.to_pylist()
    assert [r["c"] for r in sorted(rows, key=lambda r: r["window_start"])] == [15, 10, 10]


def test_idle_partition_lets_windows_fire(session, bootstrap, new_topic):
    topic = new_topic(partitions=2)  # partition 1 stays empty
    produce(bootstrap, topic, [{"value": _event(s % 2, s), "partition": 0} for s in range(25)])
    _create(session, "ev", topic, bootstrap, ", 'scan.watermark.idle-timeout' = '300 ms'")
    _create(session, "ev_no_idle", topic, bootstrap)
    held = session.execute_one(WINDOWS.format(t="ev_no_idle")).extra["stream"]
    stream = session.execute_one(WINDOWS.format(t="ev")).extra["stream"]
    try:
        rows: list[dict] = []
        deadline = time.monotonic() + 30
        while len(rows) < 4:  # windows [0, 10) and [10, 20), two keys each
            assert time.monotonic() < deadline, rows
            for batch in stream.batches(timeout=0.3):
                rows.extend(batch.to_pylist())
        assert sorted((r["k"], r["window_start"].second, r["c"]) for r in rows) == [
            (0, 0, 5), (0, 10, 5), (1, 0, 5), (1, 10, 5)]
        assert not stream.done
        # without an idle timeout the silent partition holds event time: nothing fires
        assert [b for b in held.batches(timeout=0.5) if b.num_rows] == []
    finally:
        stream.cancel()
        held.cancel()


def test_windowed_query_equals_file_and_duckdb(session, bootstrap, new_topic, tmp_path):
    rng = random.Random(7)
    events = [(rng.randrange(4), rng.uniform(0, 60)) for _ in range(300)]
    topic = new_topic(partitions=3)
    # each partition in event-time order, as a well-behaved producer writes them
    produce(bootstrap, topic, [{"value": _event(k, s), "partition": i % 3}
                               for i, (k, s) in enumerate(sorted(events, key=lambda e: e[1]))])
    _create(session, "kev", topic, bootstrap, ", 'scan.bounded.mode' = 'latest-offset'")
    path = tmp_path / "ev.json"
    path.write_text("\n".join(_event(k, s) for k, s in events) + "\n")
    session.execute_one(
        "CREATE TABLE fev (k INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '60' SECOND) "
        f"WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'json')")
    kafka_stream = _sorted(session.execute_one(WINDOWS.format(t="kev")).table.to_pylist())
    file_stream = _sorted(session.execute_one(WINDOWS.format(t="fev")).table.to_pylist())
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    duck = _sorted(session.execute_one(WINDOWS.format(t="kev")).table.to_pylist())
    assert kafka_stream == file_stream == duck
    assert sum(c for _, _, c in duck) == 300
