"""Interval, window and temporal joins' state through a real savepoint: STOP JOB ... WITH SAVEPOINT
at parallelism 2, resumed at 3 and at 1 (key groups of both sides' state redistributed).

Two paced, bounded sequences (ids 1..N, the second shifted by half of N; event time = id *
10 ms) are LEFT-joined on the id — within two seconds of event time, in the same 1 s tumbling
window, or with the version of the second (a versioned table: PRIMARY KEY (id)) valid at the
first's time — into an exactly-once filesystem sink. The right side runs a minute of
event time ahead, so its rows wait in state for their match; left rows without a match leave
the state NULL-padded as the watermark passes, some before the savepoint and some after the
restore. Pass: every left id is written exactly once across the two runs, with its match
where there is one.
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
SHIFT = ROWS // 2


def _source(name: str, start: int, key: str = "") -> str:
    return (f"CREATE TABLE IF NOT EXISTS {name} (id BIGINT, {key}"
            "ts AS CAST(TO_TIMESTAMP_LTZ(id * 10, 3) AS TIMESTAMP(3)), "
            "WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', "
            f"'number-of-rows' = '{ROWS}', 'rows-per-second' = '2000', "
            f"'fields.id.kind' = 'sequence', 'fields.id.start' = '{start}', "
            f"'fields.id.end' = '{start + ROWS - 1}')")


INSERTS = {
    "interval": ("INSERT INTO out SELECT a.id, b.id FROM a LEFT JOIN b ON a.id = b.id "
                 "AND a.ts BETWEEN b.ts - INTERVAL '2' SECOND AND b.ts + INTERVAL '2' SECOND"),
    "window": ("INSERT INTO out SELECT L.id, R.id FROM "
               "(SELECT * FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(ts), INTERVAL '1' SECOND))) L "
               "LEFT JOIN (SELECT * FROM TABLE(TUMBLE(TABLE b, DESCRIPTOR(ts), INTERVAL '1' SECOND))) R "
               "ON L.id = R.id AND L.window_start = R.window_start AND L.window_end = R.window_end"),
    "temporal": ("INSERT INTO out SELECT a.id, v.id FROM a LEFT JOIN v FOR SYSTEM_TIME AS OF a.ts "
                 "ON a.id = v.id"),
}


def _session(tmp_path: Path, out: Path, parallelism: int) -> Session:
    return savepoint_session(tmp_path, parallelism, [
        _source("a", 1), _source("b", 1 + SHIFT),
        _source("v", 1 + SHIFT, key="PRIMARY KEY (id) NOT ENFORCED, "),
        f"CREATE TABLE IF NOT EXISTS out (id BIGINT, id2 BIGINT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')",
    ])


def _pairs(directory: Path) -> list[tuple[int, int | None]]:
    rows: list[tuple[int, int | None]] = []
    for path in sorted(directory.glob("part-*.csv")):
        with open(path, newline="") as f:
            rows.extend((int(a), int(b) if b else None) for a, b in csv.reader(f))
    return rows


@pytest.mark.parametrize("join", sorted(INSERTS))
@pytest.mark.parametrize("parallelism", [3, 1])
def test_join_state_survives_a_savepoint_at_another_parallelism(tmp_path, join, parallelism):
    insert = INSERTS[join]
    out = tmp_path / "out"
    first = _session(tmp_path, out, 2)
    job_id = first.execute_one(insert).job_id
    c = local_cluster()
    until("rows in both sides' state", lambda: c.totals(job_id).records_in > 6000)
    path = first.execute_one(f"STOP JOB '{job_id}' WITH SAVEPOINT").table.column(
        "savepoint path")[0].as_py()
    assert c.job(job_id).state == "FINISHED"
    assert len(_pairs(out)) < ROWS  # stopped midway
    second = _session(tmp_path, out, parallelism)
    second.execute_one(f"SET 'execution.savepoint.path' = '{path}'")
    second.execute_one("SET 'table.dml-sync' = 'true'")
    second.execute_one(insert)
    rows = sorted(_pairs(out))
    assert rows == [(i, i if i > SHIFT else None) for i in range(1, ROWS + 1)], (
        f"{len(rows)} rows, {len({r[0] for r in rows})} distinct")
