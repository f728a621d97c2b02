"""Savepoints: STOP JOB ... WITH SAVEPOINT at parallelism 2, resumed at 3 and at 1.

Embedded, subtasks as threads. A paced, bounded input (ids 1..N, event time = id ms) feeds a
keyed TUMBLE count/sum into a filesystem sink; the job is stopped with a savepoint midway and
a new job restores it at another parallelism (key groups are redistributed). Pass: the per-key
window results of both runs together equal the expected ones exactly. A savepoint holding
state of an operator the new job lacks fails loudly, unless the ignore option is set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsql.errors import ExecutionError
from flowsql.runtime.local import local_cluster
from flowsql.session import Session
from tests.runtime.savepoint_session import savepoint_session
from tests.runtime.sink_output import expected_windows, window_rows
from tests.waiting import until

ROWS = 24_000
DDL = [
    "CREATE TABLE IF NOT EXISTS src (id BIGINT, ts AS CAST(TO_TIMESTAMP_LTZ(id, 3) AS TIMESTAMP(3)), "
    "WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', "
    f"'number-of-rows' = '{ROWS}', 'rows-per-second' = '4000', 'fields.id.kind' = 'sequence', "
    f"'fields.id.start' = '1', 'fields.id.end' = '{ROWS}')",
]
INSERT = ("INSERT INTO out SELECT id % 7, window_start, COUNT(*), SUM(id) FROM TABLE(TUMBLE("
          "TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY id % 7, window_start, "
          "window_end")


def _session(tmp_path: Path, out: Path, parallelism: int) -> Session:
    return savepoint_session(tmp_path, parallelism, [
        *DDL,
        f"CREATE TABLE IF NOT EXISTS out (k BIGINT, ws TIMESTAMP(3), n BIGINT, total BIGINT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')",
    ])


def _stopped_with_savepoint(tmp_path: Path, out: Path) -> str:
    s = _session(tmp_path, out, 2)
    job_id = s.execute_one(INSERT).job_id
    c = local_cluster()
    until("rows past the first windows", lambda: c.totals(job_id).records_in > 6000)
    result = s.execute_one(f"STOP JOB '{job_id}' WITH SAVEPOINT")
    path = result.table.column("savepoint path")[0].as_py()
    assert c.job(job_id).state == "FINISHED"
    assert (Path(path) / "_metadata").exists()
    assert len(window_rows(out)) < len(expected_windows(ROWS))  # stopped midway
    return path


@pytest.mark.parametrize("parallelism", [3, 1])
def test_a_savepoint_at_parallelism_2_resumes_at_another_parallelism_exactly(tmp_path, parallelism):
    out = tmp_path / "out"
    path = _stopped_with_savepoint(tmp_path, out)
    s = _session(tmp_path, out, parallelism)
    s.execute_one(f"SET 'execution.savepoint.path' = '{path}'")
    s.execute_one("SET 'table.dml-sync' = 'true'")
    s.execute_one(INSERT)
    assert window_rows(out) == expected_windows(ROWS)


def test_state_of_an_unknown_operator_fails_the_restore_unless_ignored(tmp_path):
    out = tmp_path / "out"
    path = _stopped_with_savepoint(tmp_path, out)
    s = _session(tmp_path, out, 2)
    s.execute_one(f"SET 'execution.savepoint.path' = '{path}'")
    s.execute_one("SET 'table.dml-sync' = 'true'")
    other = "INSERT INTO out SELECT id % 7, CAST(NULL AS TIMESTAMP(3)), id, id FROM src"
    with pytest.raises(ExecutionError, match="does not have") as err:
        s.execute_one(other)
    assert "window-aggregate-1" in err.value.message
    s.execute_one("SET 'execution.savepoint.ignore-unclaimed-state' = 'true'")
    s.execute_one(other)  # accepted: the window state is dropped
