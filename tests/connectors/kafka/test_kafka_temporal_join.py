"""An upsert-kafka topic as the versioned side of an event-time temporal join, against the real
broker: random versions (out of order within the watermark bound, repeated times) joined with
a Parquet probe table in streaming mode at parallelism 1 and 2, compared with DuckDB's ASOF
JOIN over the same data (per key and time the last version produced wins)."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.connectors.kafka.kafka_util import produce

BASE = np.datetime64("2024-01-01T00:00:00", "ms")
BOUND_MS = 2000


def _times(rng: np.random.Generator, n: int) -> np.ndarray:
    """Rising times with disorder below the watermark bound (no row is late)."""
    ts = np.cumsum(rng.integers(0, 400, n)) - rng.integers(0, BOUND_MS // 2, n)
    running = np.maximum.accumulate(ts)
    floor = np.concatenate([[ts[0]], running[:-1] - BOUND_MS + 1]) if n else ts
    return BASE + np.maximum(ts, floor).astype("timedelta64[ms]")


@pytest.mark.parametrize("parallelism", [1, 2])
def test_upsert_kafka_versioned_table(session, bootstrap, new_topic, tmp_path, parallelism):
    rng = np.random.default_rng(parallelism)
    n_versions, n_probes = 300, 400
    keys = np.array(["EUR", "USD", "GBP", "JPY", "CHF"])
    versions = pa.table({"cur": keys[rng.integers(0, len(keys), n_versions)],
                         "rate": np.round(rng.random(n_versions) * 2, 3),
                         "rts": _times(rng, n_versions)})
    probes = pa.table({"id": np.arange(n_probes),
                       "cur": pa.array(np.append(keys, "XXX")[rng.integers(0, len(keys) + 1, n_probes)],
                                       mask=rng.random(n_probes) < 0.05),
                       "ts": _times(rng, n_probes)})
    topic = new_topic()
    produce(bootstrap, topic, [
        {"key": json.dumps({"cur": r["cur"]}).encode(),
         "value": json.dumps({"cur": r["cur"], "rate": r["rate"],
                              "rts": r["rts"].strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]})}
        for r in versions.to_pylist()])
    pq.write_table(probes, tmp_path / "orders.parquet")
    session.execute_one(f"SET 'parallelism.default' = '{parallelism}'")
    session.execute_one("SET 'table.exec.mini-batch.size' = '37'")
    session.execute_one(
        "CREATE TABLE orders (id BIGINT, cur STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - "
        f"INTERVAL '{BOUND_MS}' MILLISECOND) WITH ('connector' = 'filesystem', "
        f"'path' = '{tmp_path / 'orders.parquet'}', 'format' = 'parquet')")
    session.execute_one(
        "CREATE TABLE rates (cur STRING, rate DOUBLE, rts TIMESTAMP(3), PRIMARY KEY (cur) NOT "
        f"ENFORCED, WATERMARK FOR rts AS rts - INTERVAL '{BOUND_MS}' MILLISECOND) WITH ("
        f"'connector' = 'upsert-kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = "
        f"'{bootstrap}', 'key.format' = 'json', 'value.format' = 'json', "
        "'scan.bounded.mode' = 'latest-offset')")
    got = session.execute_one(
        "SELECT o.id, o.cur, r.rate, r.rts FROM orders AS o LEFT JOIN rates FOR SYSTEM_TIME AS OF "
        "o.ts AS r ON o.cur = r.cur").table
    con = duckdb.connect()
    try:
        con.register("o_in", probes)
        con.register("v_in", versions.append_column("seq", pa.array(np.arange(n_versions))))
        want = con.sql("""
            WITH v AS (SELECT * FROM v_in
                       QUALIFY ROW_NUMBER() OVER (PARTITION BY cur, rts ORDER BY seq DESC) = 1)
            SELECT o.id, o.cur, v.rate, v.rts FROM o_in AS o ASOF LEFT JOIN v
              ON o.cur = v.cur AND o.ts >= v.rts
        """).to_arrow_table()
    finally:
        con.close()

    def rows(t: pa.Table) -> list[tuple]:
        return sorted(((r["id"], r["cur"], r["rate"], r["rts"]) for r in t.to_pylist()), key=repr)

    assert len(got) == n_probes
    assert rows(got) == rows(want)
    assert sum(r["rate"] is not None for r in got.to_pylist()) > n_probes // 2
