"""OVER aggregation state through a real savepoint: STOP JOB ... WITH SAVEPOINT at
parallelism 2, resumed at 3 and at 1 (pending rows, frame history and UNBOUNDED totals
redistributed by key group).

Ids 1..N arrive paced, event time = id ms, into ``COUNT(*)`` and ``SUM(id)`` OVER the
partition ``id % 7`` (a bounded ROWS frame, and RANGE UNBOUNDED PRECEDING), written by an
exactly-once filesystem sink. Pass: every id is written exactly once across the two runs,
with the count and sum of its frame — which the second run only gets right from restored
state.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from flowsql.runtime.local import local_cluster
from flowsql.session import Session
from tests.runtime.savepoint_session import savepoint_session
from tests.waiting import until

ROWS = 12_000
KEYS = 7
FRAMES = {
    "rows_3_preceding": "ROWS BETWEEN 3 PRECEDING AND CURRENT ROW",
    "range_unbounded": "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
}


def _session(tmp_path: Path, out: Path, parallelism: int) -> Session:
    return savepoint_session(tmp_path, parallelism, [
        "CREATE TABLE IF NOT EXISTS src (id BIGINT, ts AS CAST(TO_TIMESTAMP_LTZ(id, 3) AS "
        "TIMESTAMP(3)), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = "
        f"'datagen', 'number-of-rows' = '{ROWS}', 'rows-per-second' = '2000', "
        f"'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{ROWS}')",
        f"CREATE TABLE IF NOT EXISTS out (id BIGINT, n BIGINT, total BIGINT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')",
    ])


def _expected(frame: str) -> list[tuple[int, int, int]]:
    out = []
    for i in range(1, ROWS + 1):
        frame_ids = list(range(i, 0, -KEYS))[: 4 if frame == "rows_3_preceding" else None]
        out.append((i, len(frame_ids), sum(frame_ids)))
    return out


def _committed(out: Path) -> list[tuple[int, ...]]:
    rows = []
    for path in sorted(out.glob("part-*.csv")):
        with open(path, newline="") as f:
            rows.extend(tuple(int(x) for x in r) for r in csv.reader(f))
    return sorted(rows)


@pytest.mark.parametrize("parallelism", [3, 1])
@pytest.mark.parametrize("frame", sorted(FRAMES))
def test_over_state_survives_a_savepoint_at_another_parallelism(tmp_path, frame, parallelism):
    out = tmp_path / "out"
    insert = (f"INSERT INTO out SELECT id, COUNT(*) OVER w, SUM(id) OVER w FROM src "
              f"WINDOW w AS (PARTITION BY id % {KEYS} ORDER BY ts {FRAMES[frame]})")
    first = _session(tmp_path, out, 2)
    job_id = first.execute_one(insert).job_id
    c = local_cluster()
    until("rows in the OVER state", lambda: c.totals(job_id).records_in > ROWS // 2)
    path = first.execute_one(f"STOP JOB '{job_id}' WITH SAVEPOINT").table.column(
        "savepoint path")[0].as_py()
    assert c.job(job_id).state == "FINISHED"
    assert len(_committed(out)) < ROWS  # stopped midway
    second = _session(tmp_path, out, parallelism)
    second.execute_one(f"SET 'execution.savepoint.path' = '{path}'")
    second.execute_one("SET 'table.dml-sync' = 'true'")
    second.execute_one(insert)
    assert _committed(out) == _expected(frame)
