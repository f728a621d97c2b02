"""Backpressure across processes: a fast source in front of a slow sink on another TaskManager.

The source (datagen, one subtask, ~1 KB rows at up to :data:`RATE` rows/s) feeds a blackhole
sink at parallelism 2 through a rebalance edge, so one of the sink's channels crosses from
one TaskManager process to the other over Arrow Flight. The sink sleeps 50 ms per batch
(``'sink.sleep-per-batch'``). Unthrottled, the source would produce ``RATE`` x 1 KB = 200 MB
per second, several GB over the observation window; credit-based flow control must instead
hold it to what the sink drains. ``table.exec.mini-batch.size`` caps batches at
:data:`BATCH_ROWS` rows: credits count messages, not bytes, so without a cap a paced source
catching up emits ever larger batches (datagen: up to a whole block) and the byte bound grows.
A GROUP BY puts a hash exchange (2 x 2 channels, two of them remote) between the source and
the aggregate (at parallelism 2 the source side pre-aggregates each batch: partial rows, one
per key and batch, with the 1 KB MAX(payload), cross it); the slow sink is chained behind the
aggregate.

Measured on a 2-core machine: RSS ~109 MB before, peak ~220 MB per TaskManager (bound:
+300 MB); the source emitted ~9k rows/s of the 200k allowed; max_in_flight = capacity = 16.

Asserted (bounds generous, not timings):
- every TaskManager's RSS, as reported in its heartbeats, stays below its RSS before the job
  plus :data:`RSS_HEADROOM` (300 MB) during the whole observation window;
- the source emitted far fewer rows than its pace allows (< 25 %): it was held back;
- rows sent into the exchange but not received by the aggregate (final counts after the
  cancel) stay within the channels' capacity in batches;
- messages in flight on a remote channel never exceeded its credits (``max_in_flight <=
  capacity``), and reached them (the sink really was the bottleneck); an input gate channel
  never held more than its capacity (``max_queued <= queue_capacity``).
"""

from __future__ import annotations

import time

from tests.waiting import until as _until

RATE = 200_000
BATCH_ROWS = 1000  # no batch exceeds this (mini-batch size): a message is <= ~1 MB
RSS_HEADROOM = 300 * 1024 * 1024
OBSERVE_S = 12.0


def _rss(cluster) -> dict[str, int]:
    return {t["tm_id"]: t["rss_bytes"] for t in cluster.client.overview()["taskmanagers"]
            if t["state"] == "RUNNING" and t["rss_bytes"]}




def test_slow_sink_bounds_memory_and_in_flight_batches(cluster):
    baseline = _until("heartbeats with RSS from both TaskManagers",
                      lambda: (r := _rss(cluster)) and len(r) == 2 and r)
    s = cluster.session(parallelism=2)
    s.execute_one(f"SET 'table.exec.mini-batch.size' = '{BATCH_ROWS}'")
    s.execute_one(
        "CREATE TABLE fast (id BIGINT, payload STRING) WITH ('connector' = 'datagen', "
        f"'rows-per-second' = '{RATE}', 'fields.payload.length' = '1000')")
    s.execute_one("CREATE TABLE slow (k BIGINT, n BIGINT, p STRING) WITH ("
                  "'connector' = 'blackhole', 'sink.sleep-per-batch' = '50 ms')")
    job_id = s.execute_one("INSERT INTO slow SELECT id % 1000, COUNT(*), MAX(payload) "
                           "FROM fast GROUP BY id % 1000").job_id
    try:
        _until("rows at the sink", lambda: cluster.client.totals(job_id).records_out > 0)
        started = time.monotonic()
        peak = dict(baseline)
        while time.monotonic() - started < OBSERVE_S:
            for tm, rss in _rss(cluster).items():
                peak[tm] = max(peak[tm], rss)
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        assert cluster.client.job(job_id).state == "RUNNING"
        totals = cluster.client.totals(job_id)
        extra: dict[str, int] = {}
        for m in cluster.client.metrics(job_id).values():
            extra.update({k: v for k, v in m.extra.items() if k != "watermark"})
    finally:
        cluster.client.cancel(job_id)
    final = cluster.client.metrics(job_id)
    by_kind = {op.split("-", 1)[1]: m for op, m in final.items()}
    # what entered the exchange: the local pre-aggregation's partial rows (two-phase GROUP BY)
    sent = by_kind["local-group-aggregate"].records_out
    received = by_kind["group-aggregate"].records_in

    mb = 1024 * 1024
    print(f"baseline RSS MB {({k: v // mb for k, v in baseline.items()})}, "
          f"peak {({k: v // mb for k, v in peak.items()})}; rows in {totals.records_in}, "
          f"out {totals.records_out} in {elapsed:.1f} s; flow {extra}")
    for tm, rss in peak.items():
        assert rss < baseline[tm] + RSS_HEADROOM, (tm, rss // mb, baseline[tm] // mb)
    assert totals.records_in < 0.25 * RATE * elapsed  # held back by the sink
    assert 0 < extra["max_in_flight"] <= extra["capacity"]
    assert extra["max_in_flight"] == extra["capacity"]  # credits ran out: backpressure
    assert 0 < extra["max_queued"] <= extra["queue_capacity"]
    assert cluster.client.job(job_id).state == "CANCELED"
    # rows that crossed into the exchange but never reached the aggregate (final counts): at
    # most 2 x 2 channels x capacity messages of <= BATCH_ROWS rows, plus one batch per source
    in_exchange = sent - received
    print(f"rows left in the exchange at cancel: {in_exchange}")
    assert 0 <= in_exchange <= (4 * extra["capacity"] + 2) * BATCH_ROWS
