"""Top-N state through a real savepoint: STOP JOB ... WITH SAVEPOINT at parallelism 2,
resumed at 3 and at 1 (the ranked rows redistributed by key group).

Ids 1..N arrive paced into the top 2 ids per ``id % 7`` (ROW_NUMBER by id DESC, the row
number selected: every new id shifts both ranks, -U/+U), written as a changelog (a
``row_kind`` column) by an exactly-once filesystem sink. Pass: the changelog of both runs,
applied in order, is the final top 2 of every key — a second run without the first run's
state would insert rows without retracting the ones it replaces.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from flowsql.runtime.local import local_cluster
from flowsql.session import Session
from tests.runtime.savepoint_session import savepoint_session
from tests.waiting import until

ROWS = 12_000
KEYS = 7
INSERT = ("INSERT INTO out SELECT id, k, rn FROM (SELECT id, id % 7 AS k, ROW_NUMBER() OVER "
          "(PARTITION BY id % 7 ORDER BY id DESC) AS rn FROM src) WHERE rn <= 2")


def _session(tmp_path: Path, out: Path, parallelism: int) -> Session:
    return savepoint_session(tmp_path, parallelism, [
        "CREATE TABLE IF NOT EXISTS src (id BIGINT) WITH ('connector' = 'datagen', "
        f"'number-of-rows' = '{ROWS}', 'rows-per-second' = '2000', "
        f"'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{ROWS}')",
        f"CREATE TABLE IF NOT EXISTS out (id BIGINT, k BIGINT, rn BIGINT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')",
    ])


def _final(out: Path) -> Counter:
    """The changelog in the committed part files (in commit order), applied."""
    state: Counter = Counter()
    for path in sorted(out.glob("part-*.csv"), key=lambda p: p.stat().st_mtime_ns):
        with open(path, newline="") as f:
            for *row, kind in csv.reader(f):
                state[tuple(int(x) for x in row)] += 1 if kind in ("+I", "+U") else -1
    return +state


@pytest.mark.parametrize("parallelism", [3, 1])
def test_top_n_state_survives_a_savepoint_at_another_parallelism(tmp_path, parallelism):
    out = tmp_path / "out"
    first = _session(tmp_path, out, 2)
    job_id = first.execute_one(INSERT).job_id
    c = local_cluster()
    until("rows in the Top-N state", lambda: c.totals(job_id).records_in > ROWS // 2)
    path = first.execute_one(f"STOP JOB '{job_id}' WITH SAVEPOINT").table.column(
        "savepoint path")[0].as_py()
    assert c.job(job_id).state == "FINISHED"
    second = _session(tmp_path, out, parallelism)
    second.execute_one(f"SET 'execution.savepoint.path' = '{path}'")
    second.execute_one("SET 'table.dml-sync' = 'true'")
    second.execute_one(INSERT)
    top = [(i, i % KEYS, r) for k in range(KEYS) for r, i in enumerate(
        sorted((i for i in range(1, ROWS + 1) if i % KEYS == k), reverse=True)[:2], start=1)]
    assert _final(out) == Counter(top)
