"""A self-join whose two inputs share ONE source (source reuse) through a real savepoint:
STOP JOB ... WITH SAVEPOINT at parallelism 2, resumed at 2 and at 1.

The paced id sequence 1..N is joined with itself shifted (``a.id = b.id + SHIFT``), so rows
of one input wait in the join's state for their match. The shared source's position and the
join state of both inputs are restored together. Pass: every id in SHIFT+1..N is written
exactly once across the two runs (exactly-once filesystem sink).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsql.session import Session
from tests.runtime.savepoint_session import paced_ids, savepoint_session, stop_and_resume
from tests.runtime.sink_output import committed_ids

ROWS = 12_000
SHIFT = ROWS // 2
INSERT = f"INSERT INTO out SELECT a.id, b.id FROM src a JOIN src b ON a.id = b.id + {SHIFT}"


def _session(tmp_path: Path, out: Path, parallelism: int) -> Session:
    return savepoint_session(tmp_path, parallelism, [
        paced_ids(ROWS, event_time=False),
        f"CREATE TABLE IF NOT EXISTS out (id BIGINT, id2 BIGINT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')",
    ])


@pytest.mark.parametrize("parallelism", [2, 1])
def test_self_join_on_a_shared_source_resumes_exactly_once(tmp_path, parallelism):
    out = tmp_path / "out"
    plan = stop_and_resume(lambda p: _session(tmp_path, out, p), INSERT, 3000, parallelism,
                           lambda: len(committed_ids(out)) < ROWS - SHIFT)
    assert plan.count("kind=source ") == 1, plan
    ids = committed_ids(out)
    assert sorted(ids) == list(range(1 + SHIFT, ROWS + 1)), f"{len(ids)} rows, {len(set(ids))} distinct"
