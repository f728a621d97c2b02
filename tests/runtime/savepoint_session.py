"""A Session set up for the savepoint tests: embedded threads at a given parallelism, 1 s
checkpoints and a savepoint directory under the test's temporary directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flowsql.session import Session


def savepoint_session(tmp_path: Path, parallelism: int, ddl: list[str]) -> Session:
    """A Session in ``tmp_path/home`` that ran ``ddl`` and the checkpoint settings."""
    s = Session(home=tmp_path / "home")
    for sql in [*ddl,
                "SET 'execution.embedded.parallelism' = 'threads'",
                f"SET 'parallelism.default' = '{parallelism}'",
                "SET 'execution.checkpointing.interval' = '1 s'",
                f"SET 'execution.checkpointing.dir' = '{tmp_path / 'chk'}'",
                f"SET 'execution.checkpointing.savepoint-dir' = '{tmp_path / 'savepoints'}'"]:
        s.execute_one(sql)
    return s


def stop_with_savepoint(session: Session, insert: str, records_in: int) -> str:
    """Submit ``insert``, STOP JOB ... WITH SAVEPOINT once it has read ``records_in`` rows;
    the savepoint's path (the job has finished)."""
    from flowsql.runtime.local import local_cluster
    from tests.waiting import until

    job_id = session.execute_one(insert).job_id
    c = local_cluster()
    until(f"{records_in} rows read", lambda: c.totals(job_id).records_in > records_in)
    path = session.execute_one(f"STOP JOB '{job_id}' WITH SAVEPOINT").table.column(
        "savepoint path")[0].as_py()
    assert c.job(job_id).state == "FINISHED"
    return path


def resume(session: Session, path: str, insert: str) -> None:
    """Run ``insert`` from the savepoint at ``path`` to the end of its input."""
    session.execute_one(f"SET 'execution.savepoint.path' = '{path}'")
    session.execute_one("SET 'table.dml-sync' = 'true'")
    session.execute_one(insert)


def stop_and_resume(session_at: Callable[[int], Session], insert: str, records_in: int,
                    parallelism: int, stopped_midway: Callable[[], bool]) -> str:
    """Run ``insert`` in ``session_at(2)`` and stop it with a savepoint after ``records_in``
    rows (``stopped_midway()`` must then hold), then resume it from that savepoint in
    ``session_at(parallelism)`` to the end of its input. Returns the first job's EXPLAIN."""
    first = session_at(2)
    plan = first.execute_one("EXPLAIN " + insert).message
    path = stop_with_savepoint(first, insert, records_in)
    assert stopped_midway()
    resume(session_at(parallelism), path, insert)
    return plan


def paced_ids(rows: int, event_time: bool = True) -> str:
    """DDL of ``src``: ids 1..rows at 2,000 rows/s; with ``event_time``, ``ts`` = id ms and a
    1 s watermark delay."""
    time = (", ts AS CAST(TO_TIMESTAMP_LTZ(id, 3) AS TIMESTAMP(3)), WATERMARK FOR ts AS "
            "ts - INTERVAL '1' SECOND") if event_time else ""
    return (f"CREATE TABLE IF NOT EXISTS src (id BIGINT{time}) WITH ('connector' = 'datagen', "
            f"'number-of-rows' = '{rows}', 'rows-per-second' = '2000', "
            f"'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{rows}')")
