"""A self-join of one windowed aggregate subquery whose two uses share ONE sub-plan (sub-plan
reuse) through a real savepoint: STOP JOB ... WITH SAVEPOINT at parallelism 2, resumed at 2
and at 1.

The paced ids 1..N (event time = id ms) are counted and summed per key and 1 s TUMBLE window;
the subquery is joined with itself on every column, so each window row matches itself once.
The shared source's position, the one window aggregate's state and the join state of both
inputs are restored together. Pass: the committed rows of both runs are exactly the expected
windows (exactly-once filesystem sink).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsql.session import Session
from tests.runtime.savepoint_session import paced_ids, savepoint_session, stop_and_resume
from tests.runtime.sink_output import expected_windows, window_rows

ROWS = 12_000
AGG = ("SELECT id % 7 AS k, window_start AS ws, COUNT(*) AS n, SUM(id) AS total FROM TABLE("
       "TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY id % 7, window_start, "
       "window_end")
INSERT = (f"INSERT INTO out SELECT a.k, a.ws, a.n, b.total FROM ({AGG}) a JOIN ({AGG}) b "
          "ON a.k = b.k AND a.ws = b.ws AND a.n = b.n AND a.total = b.total")


def _session(tmp_path: Path, out: Path, parallelism: int) -> Session:
    return savepoint_session(tmp_path, parallelism, [
        paced_ids(ROWS),
        "CREATE TABLE IF NOT EXISTS out (k BIGINT, ws TIMESTAMP(3), n BIGINT, total BIGINT) "
        f"WITH ('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')",
    ])


@pytest.mark.parametrize("parallelism", [2, 1])
def test_self_join_of_a_reused_window_aggregate_resumes_exactly_once(tmp_path, parallelism):
    out = tmp_path / "out"
    want = expected_windows(ROWS)
    plan = stop_and_resume(lambda p: _session(tmp_path, out, p), INSERT, 3000, parallelism,
                           lambda: len(window_rows(out)) < len(want))
    assert plan.count("kind=window-aggregate ") == 1, plan
    got = window_rows(out)
    assert got == want, f"{len(got)} rows, {len(want)} expected"
