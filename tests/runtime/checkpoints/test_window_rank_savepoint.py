"""Window Top-N state through a real savepoint: STOP JOB ... WITH SAVEPOINT at parallelism
2, resumed at 3 and at 1 (buffered rows of open windows redistributed by key group).

Ids 1..N arrive paced, event time = id ms, into the top 2 ids per (1 s TUMBLE window,
``id % 7``), written by an exactly-once filesystem sink. Pass: every window's top 2 is
written exactly once across the two runs.
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
INSERT = ("INSERT INTO out SELECT id, k, rn FROM (SELECT id, id % 7 AS k, ROW_NUMBER() OVER "
          "(PARTITION BY window_start, window_end, id % 7 ORDER BY id DESC) AS rn FROM TABLE("
          "TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND))) WHERE rn <= 2")


def _session(tmp_path: Path, out: Path, parallelism: int) -> Session:
    return savepoint_session(tmp_path, parallelism, [
        "CREATE TABLE IF NOT EXISTS src (id BIGINT, ts AS CAST(TO_TIMESTAMP_LTZ(id, 3) AS "
        "TIMESTAMP(3)), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = "
        f"'datagen', 'number-of-rows' = '{ROWS}', 'rows-per-second' = '2000', "
        f"'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{ROWS}')",
        f"CREATE TABLE IF NOT EXISTS out (id BIGINT, k BIGINT, rn BIGINT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')",
    ])


def _committed(out: Path) -> list[tuple[int, ...]]:
    rows = []
    for path in sorted(out.glob("part-*.csv")):
        with open(path, newline="") as f:
            rows.extend(tuple(int(x) for x in r) for r in csv.reader(f))
    return sorted(rows)


def _expected() -> list[tuple[int, int, int]]:
    groups: dict[tuple[int, int], list[int]] = {}
    for i in range(1, ROWS + 1):
        groups.setdefault((i // 1000, i % KEYS), []).append(i)
    return sorted((i, k, r) for (_, k), ids in groups.items()
                  for r, i in enumerate(sorted(ids, reverse=True)[:2], start=1))


@pytest.mark.parametrize("parallelism", [3, 1])
def test_window_top_n_state_survives_a_savepoint_at_another_parallelism(tmp_path, parallelism):
    out = tmp_path / "out"
    first = _session(tmp_path, out, 2)
    job_id = first.execute_one(INSERT).job_id
    c = local_cluster()
    until("rows in the window Top-N state", lambda: c.totals(job_id).records_in > ROWS // 2)
    path = first.execute_one(f"STOP JOB '{job_id}' WITH SAVEPOINT").table.column(
        "savepoint path")[0].as_py()
    assert c.job(job_id).state == "FINISHED"
    assert 0 < len(_committed(out)) < len(_expected())  # stopped midway
    second = _session(tmp_path, out, parallelism)
    second.execute_one(f"SET 'execution.savepoint.path' = '{path}'")
    second.execute_one("SET 'table.dml-sync' = 'true'")
    second.execute_one(INSERT)
    assert _committed(out) == _expected()
