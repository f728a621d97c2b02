"""A regular join's state through a real savepoint: STOP JOB ... WITH SAVEPOINT at
parallelism 2, resumed at 3 and at 1 (key groups of both sides' state redistributed).

Two paced, bounded sequences (ids 1..N, the second one shifted by half of N, so rows of
one side wait in state for their match from the other) are joined on the id into an
exactly-once filesystem sink. Pass: every id both sides share is written exactly once
across the two runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsql.runtime.local import local_cluster
from flowsql.session import Session
from tests.runtime.savepoint_session import savepoint_session
from tests.runtime.sink_output import committed_ids
from tests.waiting import until

ROWS = 12_000
SHIFT = ROWS // 2


def _source(name: str, start: int) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {name} (id BIGINT) WITH ('connector' = 'datagen', "
            f"'number-of-rows' = '{ROWS}', 'rows-per-second' = '2000', "
            f"'fields.id.kind' = 'sequence', 'fields.id.start' = '{start}', "
            f"'fields.id.end' = '{start + ROWS - 1}')")


INSERT = "INSERT INTO out SELECT a.id, b.id FROM a JOIN b ON a.id = b.id"


def _session(tmp_path: Path, out: Path, parallelism: int) -> Session:
    return savepoint_session(tmp_path, parallelism, [
        _source("a", 1), _source("b", 1 + SHIFT),
        f"CREATE TABLE IF NOT EXISTS out (id BIGINT, id2 BIGINT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')",
    ])


@pytest.mark.parametrize("parallelism", [3, 1])
def test_join_state_survives_a_savepoint_at_another_parallelism(tmp_path, parallelism):
    out = tmp_path / "out"
    first = _session(tmp_path, out, 2)
    job_id = first.execute_one(INSERT).job_id
    c = local_cluster()
    until("rows in both sides' state", lambda: c.totals(job_id).records_in > 6000)
    path = first.execute_one(f"STOP JOB '{job_id}' WITH SAVEPOINT").table.column(
        "savepoint path")[0].as_py()
    assert c.job(job_id).state == "FINISHED"
    assert len(committed_ids(out)) < ROWS - SHIFT  # stopped midway
    second = _session(tmp_path, out, parallelism)
    second.execute_one(f"SET 'execution.savepoint.path' = '{path}'")
    second.execute_one("SET 'table.dml-sync' = 'true'")
    second.execute_one(INSERT)
    ids = committed_ids(out)
    assert sorted(ids) == list(range(1 + SHIFT, ROWS + 1)), f"{len(ids)} rows, {len(set(ids))} distinct"
