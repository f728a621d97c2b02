"""A windowed query at parallelism 2 across two TaskManager processes."""

from __future__ import annotations

import pyarrow as pa


def _rows(session, sql: str) -> pa.Table:
    result = session.execute_one(sql)
    return result.table


def test_two_taskmanagers_run_a_window_at_parallelism_2(cluster, flowsql_home):
    assert len(cluster.client.overview()["taskmanagers"]) == 2
    s = cluster.session(parallelism=2)
    s.execute_one(
        "CREATE TABLE bid (auction BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ("
        "'connector' = 'datagen', 'number-of-rows' = '5000', 'rows-per-second' = '1000000', 'seed' = '7', "
        "'fields.auction.min' = '1', 'fields.auction.max' = '7')"
    )
    sql = ("SELECT auction, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), "
           "INTERVAL '1' HOUR)) GROUP BY auction, window_start, window_end")
    remote = _rows(s, sql)
    local = cluster.session(parallelism=1)
    local.config.set("execution.target", "local")
    # datagen's timestamps follow the wall clock, so compare per-key totals over windows
    per_key = lambda t: t.group_by("auction").aggregate([("n", "sum")]).sort_by("auction")  # noqa: E731
    assert per_key(remote).to_pylist() == per_key(_rows(local, sql)).to_pylist()
    assert sum(remote.column("n").to_pylist()) == 5000
    job = cluster.client.list_jobs()[-1]
    assert job.state == "FINISHED"
