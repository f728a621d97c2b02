"""Recovery from checkpoints on a real cluster: kill -9 of a TaskManager mid-job.

A JobManager and three TaskManager processes (1 slot each; heartbeat timeout 3 s); the job
runs at parallelism 2, so after a TaskManager is killed the job restarts on the two left.
The job reads a paced, bounded, generated input (ids 1..N) into an exactly-once filesystem
sink with 1 s checkpoints. Pass: the committed output equals the input exactly (no
duplicates, no gaps), and the job restarted from a checkpoint. The failpoint variants crash
a TaskManager (``FLOWSQL_FAILPOINT``, :mod:`flowsql.failpoints`) at exact moments instead of
an outside kill: while writing the state of checkpoint 3 (that checkpoint must never
complete; recovery uses checkpoint 2) and after checkpoint 3 is durable but before the sink
committed its files (recovery commits them exactly once).
"""

from __future__ import annotations

import os
import signal
from functools import partial

import pytest

from tests.runtime.sink_output import committed_ids, expected_windows, window_diff, window_rows
from tests.waiting import until

ROWS = 60_000  # 2 subtasks x 3,000 rows/s: about 10 s of input


def _busy_taskmanager(c) -> str:
    tms = c.client.overview()["taskmanagers"]
    return next(t["tm_id"] for t in tms if t["state"] == "RUNNING" and t["free_slots"] == 0)


PASSTHROUGH = ("CREATE TABLE out (id BIGINT, v BIGINT)", "INSERT INTO out SELECT id, v FROM src")
WINDOWED = (
    "CREATE TABLE out (k BIGINT, ws TIMESTAMP(3), n BIGINT, total BIGINT)",
    "INSERT INTO out SELECT id % 7, window_start, COUNT(*), SUM(id) FROM TABLE(TUMBLE("
    "TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY id % 7, window_start, window_end",
)


@pytest.mark.parametrize(("query", "how"), [
    ("passthrough", "kill x3"), ("windowed", "kill x3"), ("passthrough", "zombie")])
def test_kill_9_of_a_taskmanager_restarts_from_a_checkpoint_with_exact_output(
        make_cluster, tmp_path, query, how):
    """``kill x3`` (acceptance: 1 M rows): a busy TaskManager is killed after the third
    checkpoint, and again twice, each time after a checkpoint the restarted job completed; a
    replacement TaskManager is started after each kill, as a supervisor would. ``zombie``:
    the TaskManager is SIGSTOPped until its tasks are rescheduled elsewhere, then SIGCONTed:
    it is fenced (its stale tasks cancelled, their producers never reach the new attempt's
    gates) and the output stays exact."""
    from flowsql.runtime.cluster import launcher

    rows = 1_000_000 if how == "kill x3" else ROWS
    rate = 50_000 if how == "kill x3" else 6000
    c = make_cluster(tmp_path / "home", taskmanagers=3, slots=1)
    out = tmp_path / "out"
    s = c.session(parallelism=2)
    table, insert = PASSTHROUGH if query == "passthrough" else WINDOWED
    for sql in [
        "CREATE TABLE src (id BIGINT, v BIGINT, ts AS CAST(TO_TIMESTAMP_LTZ(id, 3) AS "
        "TIMESTAMP(3)), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ("
        "'connector' = 'datagen', "
        f"'number-of-rows' = '{rows}', 'rows-per-second' = '{rate}', "
        f"'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{rows}')",
        f"{table} WITH ('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')",
        "SET 'execution.checkpointing.interval' = '1 s'",
        f"SET 'execution.checkpointing.dir' = '{tmp_path / 'chk'}'",
        "SET 'restart-strategy.type' = 'fixed-delay'",
        "SET 'restart-strategy.fixed-delay.attempts' = '5'",
        "SET 'restart-strategy.fixed-delay.delay' = '1 s'",
    ]:
        s.execute_one(sql)
    job_id = s.execute_one(insert).job_id
    kills = 3 if how == "kill x3" else 1
    seen = 2  # the first kill comes after the third checkpoint
    for k in range(kills):
        seen = until(f"a checkpoint after {seen}", partial(_checkpoint_after, c, job_id, seen),
                     timeout=90)
        victim = _busy_taskmanager(c)
        pid = c.pids[f"taskmanager-{victim.split('-')[1]}"]
        if how == "zombie":
            os.kill(pid, signal.SIGSTOP)
            try:
                until("the job to run again elsewhere", lambda: (
                    i := c.client.job(job_id)).restarts >= 1 and i.state == "RUNNING", timeout=60)
            finally:
                os.kill(pid, signal.SIGCONT)
            until("the zombie to register again", partial(_registered, c, victim), timeout=60)
            continue
        os.kill(pid, signal.SIGKILL)
        c.pids[f"taskmanager-{3 + k}"] = launcher.start_taskmanager(c.home, c.address, 3 + k)
        until("the job to restart", partial(_restarted, c, job_id, k + 1), timeout=60)

    info = c.client.wait(job_id, 180)
    assert info.state == "FINISHED", info
    assert info.restarts == kills, info
    if query == "passthrough":
        ids = committed_ids(out)
        assert len(ids) == rows and sorted(ids) == list(range(1, rows + 1)), (
            f"{len(ids)} rows committed, {len(set(ids))} distinct, of {rows}")
    else:
        got, want = window_rows(out), expected_windows(rows)
        assert got == want, window_diff(got, want)
    assert not list(out.glob("part-*.inprogress"))  # hidden leftovers never look like parts


def _checkpoint_after(c, job_id: str, seen: int) -> int:
    n = c.client.job(job_id).last_checkpoint or 0
    return n if n > seen else 0


def _registered(c, tm_id: str) -> bool:
    return any(t["tm_id"] == tm_id and t["state"] == "RUNNING"
               for t in c.client.overview()["taskmanagers"])


def _restarted(c, job_id: str, restarts: int) -> bool:
    info = c.client.job(job_id)
    return info.restarts >= restarts and info.state == "RUNNING"


@pytest.mark.parametrize("point", ["checkpoint-write:3", "checkpoint-commit:3"])
def test_a_crash_at_a_failpoint_recovers_with_exact_output(make_cluster, tmp_path, monkeypatch,
                                                           point):
    monkeypatch.setenv("FLOWSQL_FAILPOINT", point)  # inherited by the cluster's processes
    monkeypatch.setenv("FLOWSQL_FAILPOINT_ONCE", str(tmp_path / "crashed"))  # one of them
    c = make_cluster(tmp_path / "home", taskmanagers=3, slots=1)
    monkeypatch.delenv("FLOWSQL_FAILPOINT")
    monkeypatch.delenv("FLOWSQL_FAILPOINT_ONCE")
    out = tmp_path / "out"
    s = c.session(parallelism=2)
    table, insert = PASSTHROUGH
    for sql in [
        "CREATE TABLE src (id BIGINT, v BIGINT) WITH ('connector' = 'datagen', "
        f"'number-of-rows' = '{ROWS}', 'rows-per-second' = '6000', "
        f"'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{ROWS}')",
        f"{table} WITH ('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')",
        "SET 'execution.checkpointing.interval' = '1 s'",
        "SET 'execution.checkpointing.externalized-checkpoint-retention' = "
        "'RETAIN_ON_CANCELLATION'",
        "SET 'state.checkpoints.num-retained' = '100'",
        f"SET 'execution.checkpointing.dir' = '{tmp_path / 'chk'}'",
        "SET 'restart-strategy.type' = 'fixed-delay'",
        "SET 'restart-strategy.fixed-delay.delay' = '1 s'",
    ]:
        s.execute_one(sql)
    job_id = s.execute_one(insert).job_id
    info = c.client.wait(job_id, 120)
    assert info.state == "FINISHED", info
    assert info.restarts == 1, info
    assert (tmp_path / "crashed").exists()
    done = sorted(int(m.parent.name.split("-")[1])
                  for m in (tmp_path / "chk" / job_id).glob("chk-*/_metadata"))
    if point.startswith("checkpoint-write"):
        assert 3 not in done and 2 in done, done  # 3 never completed; 2 was restored
    else:
        assert 3 in done, done
    ids = committed_ids(out)
    assert len(ids) == ROWS and sorted(ids) == list(range(1, ROWS + 1)), (
        f"{len(ids)} rows committed, {len(set(ids))} distinct, of {ROWS}")


def test_jobmanager_kill_9_three_times_resumes_the_job_from_its_checkpoints(make_cluster, tmp_path):
    """The JobManager is killed with -9 three times, each time after a new checkpoint, and
    started again on its port. Pass: the job resumes each time (one instance: its job id once,
    restarts counted), checkpoint ids keep increasing, a report under an earlier JobManager's
    registration is ignored, and the committed output is exact."""
    from flowsql.runtime.cluster import launcher
    from flowsql.runtime.cluster.client import RemoteCluster
    from flowsql.runtime.network.client import ControlClient
    from tests.runtime.cluster.conftest import HEARTBEAT_TIMEOUT_S

    rows = 120_000
    c = make_cluster(tmp_path / "home", taskmanagers=2, slots=1)
    out = tmp_path / "out"
    s = c.session(parallelism=2)
    for sql in [
        "CREATE TABLE src (id BIGINT, v BIGINT) WITH ('connector' = 'datagen', "
        f"'number-of-rows' = '{rows}', 'rows-per-second' = '6000', "
        f"'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{rows}')",
        f"CREATE TABLE out (id BIGINT, v BIGINT) WITH ('connector' = 'filesystem', "
        f"'path' = '{out}', 'format' = 'csv')",
        "SET 'execution.checkpointing.interval' = '1 s'",
        f"SET 'execution.checkpointing.dir' = '{tmp_path / 'chk'}'",
    ]:
        s.execute_one(sql)
    job_id = s.execute_one("INSERT INTO out SELECT id, v FROM src").job_id
    port = int(c.address.rsplit(":", 1)[1])
    client = c.client
    jm_pid = c.pids["jobmanager"]
    seen = 0

    def checkpoint_after(client: RemoteCluster, seen: int) -> int:
        n = client.job(job_id).last_checkpoint or 0
        return n if n > seen else 0

    for kill in range(3):
        seen = until(f"a checkpoint after {seen}", partial(checkpoint_after, client, seen),
                     timeout=90)
        os.kill(jm_pid, signal.SIGKILL)
        endpoint = launcher.start_jobmanager(c.home, port=port, rest_port=0,
                                             heartbeat_timeout=HEARTBEAT_TIMEOUT_S)
        jm_pid = int(endpoint["pid"])
        client = RemoteCluster(c.address)
        until("the job to run again",
              partial(lambda cl: cl.job(job_id).state == "RUNNING", client), timeout=90)
        info = client.job(job_id)
        assert info.restarts == kill + 1 and (info.last_checkpoint or 0) >= seen, info
        # a report made under an earlier JobManager's registration is ignored
        ControlClient(f"grpc+tcp://{c.address}", timeout=5).call("task_state", {
            "tm_id": "tm-0", "registration": 1_000_001, "task_id": f"{job_id}/0.0",
            "state": "FAILED", "error": None, "details": None, "metrics": {}})
        assert client.job(job_id).state == "RUNNING"

    info = client.wait(job_id, 120)
    assert info.state == "FINISHED", info
    assert [j.job_id for j in client.list_jobs()].count(job_id) == 1
    ids = committed_ids(out)
    assert len(ids) == rows and sorted(ids) == list(range(1, rows + 1)), (
        f"{len(ids)} rows committed, {len(set(ids))} distinct, of {rows}")
