"""Embedded fault cases: a poison record, and checkpoints that cannot be written.

- Poison record: an expression error on one row. The job restarts with exponential backoff,
  at most ``attempts-before-reset-backoff`` times, then ends FAILED with the error and the
  source position after the failing batch (no hot loop: the restarts take at least the sum of
  the backoffs).
- Storage failures: checkpoints 2-4 cannot be written (a file stands where their directory
  goes). The job goes on through ``tolerable-failed-checkpoints`` = 2 failures and fails at
  the third; checkpoint 1 is kept (DELETE_ON_CANCELLATION keeps a failed job's checkpoints)
  and a new job restored from it writes every row exactly once in all.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from flowsql.errors import ExecutionError
from flowsql.runtime.local import local_cluster
from flowsql.session import Session
from tests.runtime.sink_output import committed_ids
from tests.waiting import until

ROWS = 20_000


def _session(tmp_path: Path) -> Session:
    return Session(home=tmp_path / "home")


def test_a_poison_record_restarts_with_backoff_then_fails_with_its_error(tmp_path):
    s = _session(tmp_path)
    for sql in [
        "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = "
        f"'{ROWS}', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', "
        f"'fields.id.end' = '{ROWS}')",
        "CREATE TABLE bh (x BIGINT) WITH ('connector' = 'blackhole')",
        "SET 'restart-strategy.type' = 'exponential-delay'",
        "SET 'restart-strategy.exponential-delay.initial-backoff' = '100 ms'",
        "SET 'restart-strategy.exponential-delay.backoff-multiplier' = '2'",
        "SET 'restart-strategy.exponential-delay.max-backoff' = '300 ms'",
        "SET 'restart-strategy.exponential-delay.attempts-before-reset-backoff' = '3'",
    ]:
        s.execute_one(sql)
    started = time.monotonic()
    job_id = s.execute_one("INSERT INTO bh SELECT 100 / (id - 5000) FROM src").job_id
    c = local_cluster()
    with pytest.raises(ExecutionError, match="division by zero"):
        c.result(job_id, timeout=60)
    took = time.monotonic() - started
    info = c.job(job_id)
    assert info.state == "FAILED" and info.restarts == 3, info
    # the error names the source position: the failing row (id 5000, the 5000th row) came
    # from the batch just before it
    m = re.search(r"source position: shard-0-of-1 at \{'next_block': (\d+), 'offset': (\d+)\}",
                  info.error)
    assert m, info.error
    assert int(m.group(1)) * 8192 + int(m.group(2)) >= 5000
    assert took >= 0.1 + 0.2 + 0.3  # the backoffs were waited: no hot loop
    jobs = s.execute_one("SHOW JOBS").table.to_pylist()
    row = next(r for r in jobs if r["job id"] == job_id)
    assert row["status"] == "FAILED" and row["restarts"] == 3


def test_failed_checkpoints_beyond_the_tolerance_fail_the_job_and_the_last_good_one_restores(
        tmp_path):
    s = _session(tmp_path)
    chk, out = tmp_path / "chk", tmp_path / "out"
    for sql in [
        "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = "
        f"'{ROWS}', 'rows-per-second' = '2000', 'fields.id.kind' = 'sequence', "
        f"'fields.id.start' = '1', 'fields.id.end' = '{ROWS}')",
        f"CREATE TABLE out (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '{out}', "
        "'format' = 'csv')",
        "SET 'execution.checkpointing.interval' = '1 s'",
        f"SET 'execution.checkpointing.dir' = '{chk}'",
        "SET 'execution.checkpointing.tolerable-failed-checkpoints' = '2'",
        "SET 'execution.checkpointing.externalized-checkpoint-retention' = "
        "'DELETE_ON_CANCELLATION'",
        "SET 'restart-strategy.type' = 'none'",
    ]:
        s.execute_one(sql)
    job_id = s.execute_one("INSERT INTO out SELECT id FROM src").job_id
    (chk / job_id).mkdir(parents=True, exist_ok=True)
    for n in (2, 3, 4):  # a file where checkpoint n's directory must go: writing it fails
        (chk / job_id / f"chk-{n}").write_text("in the way")
    c = local_cluster()
    with pytest.raises(ExecutionError, match="tolerable-failed-checkpoints = 2"):
        c.result(job_id, timeout=60)
    assert (chk / job_id / "chk-1" / "_metadata").exists()
    assert len(committed_ids(out)) < ROWS  # it failed midway

    s.execute_one(f"SET 'execution.savepoint.path' = '{chk / job_id / 'chk-1'}'")
    s.execute_one(f"SET 'execution.checkpointing.dir' = '{tmp_path / 'chk2'}'")
    resumed = s.execute_one("INSERT INTO out SELECT id FROM src").job_id
    until("the resumed job to finish", lambda: c.job(resumed).state in ("FINISHED", "FAILED"))
    assert c.job(resumed).state == "FINISHED", c.job(resumed)
    ids = committed_ids(out)
    assert len(ids) == ROWS and sorted(ids) == list(range(1, ROWS + 1)), (
        f"{len(ids)} rows, {len(set(ids))} distinct, of {ROWS}")
