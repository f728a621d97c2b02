"""Processing-time windows fire on their timer while the job runs: an unbounded source (the
two-split connector of test_idle_e2e) emits its rows and then falls silent without ending,
so only the processing-time timer can fire the last windows. Every row must be counted once
while the job is still RUNNING — at parallelism 1 (the window chained into the source task:
timers checked at every poll) and 2 (keyed, behind a hash exchange: timers bound the wait on
the input gate). Real planner, MiniCluster and clock; no assertion on how long anything took.
"""

from __future__ import annotations

import uuid

import pytest

from tests.runtime.test_idle_e2e import GATES, ROWS_PER_BATCH, _job_status, _read_until, two_splits  # noqa: F401

BUSY_BATCHES = 30
QUERIES = {
    1: ("SELECT window_start, window_end, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE src, "
        "DESCRIPTOR(p), INTERVAL '100' MILLISECOND)) GROUP BY window_start, window_end"),
    2: ("SELECT split, window_start, window_end, COUNT(*) AS c FROM TABLE(HOP(TABLE src, "
        "DESCRIPTOR(p), INTERVAL '50' MILLISECOND, INTERVAL '100' MILLISECOND)) "
        "GROUP BY split, window_start, window_end"),
}
COPIES = {1: 1, 2: 2}  # windows holding each row


@pytest.mark.parametrize("parallelism", sorted(QUERIES))
def test_windows_fire_on_the_clock_while_running(session, two_splits, parallelism):  # noqa: F811
    import threading

    gate = GATES.setdefault(uuid.uuid4().hex, threading.Event())
    name = next(k for k, v in GATES.items() if v is gate)
    session.execute_one(
        "CREATE TABLE src (split STRING, v BIGINT, ts TIMESTAMP(3), p AS PROCTIME()) "
        f"WITH ('connector' = 'two-splits', 'gate' = '{name}', 'busy.batches' = '{BUSY_BATCHES}')")
    session.execute_one(f"SET 'parallelism.default' = '{parallelism}'")
    session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    result = session.execute_one(QUERIES[parallelism])
    stream = result.extra["stream"]
    total = (BUSY_BATCHES * ROWS_PER_BATCH + 1) * COPIES[parallelism]  # + quiet's one row
    try:
        rows = _read_until(stream, lambda rows: sum(r["c"] for r in rows) >= total)
        assert sum(r["c"] for r in rows) == total
        assert not stream.done and _job_status(session, result.job_id) == "RUNNING"
        keys = [(r.get("split"), r["window_start"]) for r in rows]
        assert len(keys) == len(set(keys))  # a (key, window) fires once
    finally:
        stream.cancel()
