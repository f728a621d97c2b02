"""Checkpoints and savepoints in an S3-compatible store (moto's server on 127.0.0.1).

``execution.checkpointing.dir`` = ``s3://bucket/chk?endpoint_override=...&scheme=http&
region=...``, credentials from the environment (see s3_server.py). Pass:
- the storage writes state objects and ``_metadata`` (one upload: no ``.inprogress`` object
  is left behind) and reads them back by URI, ``/_metadata`` suffix or not;
- an embedded job completes a checkpoint into the bucket (``<job>/chk-<n>/_metadata``), is
  stopped with a savepoint into the bucket, and a new job restored from it at another
  parallelism gives exactly DuckDB's window results;
- a shell killed -9 after two checkpoints in the bucket resumes from the latest one in a new
  shell with every row exactly once, and that shell, which used S3, exits 0 (pyarrow's S3
  must be finalized before the interpreter ends, else a process can abort at exit);
- cluster processes (JobManager, TaskManagers) that wrote checkpoints to the bucket exit 0
  when stopped.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pyarrow as pa
import pytest

from flowsql.runtime.checkpoints.storage import CheckpointStorage, open_checkpoint, read_state
from flowsql.runtime.cluster import launcher
from flowsql.runtime.local import local_cluster
from flowsql.session import Session
from tests.e2e.resume_shell import ROWS as SHELL_ROWS
from tests.e2e.resume_shell import script, shell
from tests.runtime.checkpoints import s3_server
from tests.runtime.sink_output import committed_ids, expected_windows, window_rows
from tests.waiting import until

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def s3():
    server = s3_server.start()
    try:
        yield server
    finally:
        s3_server.stop(server)


@pytest.fixture
def bucket(s3, monkeypatch, request):
    for key, value in s3_server.ENV.items():
        monkeypatch.setenv(key, value)
    name = "flowsql-" + request.node.name.replace("_", "-")[:40].strip("-").lower()
    s3.create_bucket(name)
    return name


def test_storage_writes_and_reads_checkpoints_in_s3(s3, bucket):
    st = CheckpointStorage(s3.uri(bucket, "chk"), "job1")
    t = pa.table({"k": [1, 2], "v": ["a", None]})
    assert st.write_state(1, "window-aggregate-1", 0, {"slices": t}) > 0
    assert st.latest() is None  # no metadata yet
    done = st.complete(1, {"checkpoint_id": 1})
    assert done.path == s3.uri(bucket, "chk/job1/chk-1")
    assert s3.keys(bucket) == ["chk/job1/chk-1/_metadata",
                               "chk/job1/chk-1/window-aggregate-1/0/slices.arrow"]
    assert st.latest().checkpoint_id == 1
    assert read_state(done.path, "window-aggregate-1", 0)["slices"].equals(t)
    head, _, query = done.path.partition("?")
    assert open_checkpoint(f"{head}/_metadata?{query}").checkpoint_id == 1
    st.write_state(2, "window-aggregate-1", 0, {"slices": t})  # never completes
    assert st.latest().checkpoint_id == 1
    st.discard(2)
    assert not s3.keys(bucket, "chk/job1/chk-2")


# -- an embedded job: checkpoints and a savepoint in the bucket, restored exactly ------------
ROWS = 24_000
SRC = ("CREATE TABLE IF NOT EXISTS src (id BIGINT, ts AS CAST(TO_TIMESTAMP_LTZ(id, 3) AS "
       "TIMESTAMP(3)), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = "
       f"'datagen', 'number-of-rows' = '{ROWS}', 'rows-per-second' = '4000', "
       f"'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{ROWS}')")
WINDOWS = ("INSERT INTO out SELECT id % 7, window_start, COUNT(*), SUM(id) FROM TABLE(TUMBLE("
           "TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY id % 7, window_start, "
           "window_end")


def _session(tmp_path: Path, s3, bucket: str, parallelism: int) -> Session:
    s = Session(home=tmp_path / "home")
    for sql in [SRC,
                "CREATE TABLE IF NOT EXISTS out (k BIGINT, ws TIMESTAMP(3), n BIGINT, total "
                f"BIGINT) WITH ('connector' = 'filesystem', 'path' = '{tmp_path / 'out'}', "
                "'format' = 'csv')",
                "SET 'execution.embedded.parallelism' = 'threads'",
                f"SET 'parallelism.default' = '{parallelism}'",
                "SET 'execution.checkpointing.interval' = '1 s'",
                f"SET 'execution.checkpointing.dir' = '{s3.uri(bucket, 'chk')}'",
                f"SET 'execution.checkpointing.savepoint-dir' = '{s3.uri(bucket, 'sp')}'"]:
        s.execute_one(sql)
    return s


def test_checkpoints_and_a_savepoint_in_s3_restore_exactly(tmp_path, s3, bucket):
    s = _session(tmp_path, s3, bucket, 2)
    job_id = s.execute_one(WINDOWS).job_id
    c = local_cluster()
    until("a checkpoint in the bucket", lambda: [
        k for k in s3.keys(bucket, f"chk/{job_id}") if k.endswith("/_metadata")], timeout=60)
    assert c.job(job_id).last_checkpoint >= 1
    path = s.execute_one(f"STOP JOB '{job_id}' WITH SAVEPOINT").table.column(
        "savepoint path")[0].as_py()
    assert c.job(job_id).state == "FINISHED"
    assert path.startswith(f"s3://{bucket}/sp/savepoint-") and "endpoint_override" in path
    folder = path.partition("?")[0][len(f"s3://{bucket}/"):]
    assert f"{folder}/_metadata" in s3.keys(bucket, folder)
    assert not [k for k in s3.keys(bucket) if k.endswith(".inprogress")]
    assert len(window_rows(tmp_path / "out")) < len(expected_windows(ROWS))  # stopped midway

    s = _session(tmp_path, s3, bucket, 1)
    s.execute_one(f"SET 'execution.savepoint.path' = '{path}'")
    s.execute_one("SET 'table.dml-sync' = 'true'")
    s.execute_one(WINDOWS)
    assert window_rows(tmp_path / "out") == expected_windows(ROWS)


# -- shells: killed with a checkpoint in the bucket, resumed from it, exiting cleanly --------
def _checkpoints(s3, bucket: str) -> list[tuple[int, str]]:
    """(id, '<job>/chk-<n>') of every complete checkpoint in the bucket's chk/ folder."""
    out = []
    for key in s3.keys(bucket, "chk"):
        parts = key.split("/")
        if len(parts) == 4 and parts[3] == "_metadata" and parts[2].startswith("chk-"):
            out.append((int(parts[2][4:]), f"{parts[1]}/{parts[2]}"))
    return sorted(out)


def test_a_shell_resumes_from_a_checkpoint_in_s3_and_exits_cleanly(tmp_path, s3, bucket):
    chk = s3.uri(bucket, "chk")
    first = shell(tmp_path, "first", script(tmp_path, None, chk=chk), env=s3_server.ENV)
    try:
        until("the second checkpoint", lambda: (c := _checkpoints(s3, bucket)) and c[-1][0] >= 2,
              timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    latest = s3.uri(bucket, f"chk/{_checkpoints(s3, bucket)[-1][1]}")
    second = shell(tmp_path, "second", script(tmp_path, latest, chk=chk), env=s3_server.ENV)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, out[-2000:] + err[-2000:]
    assert "FINISHED" in out, out[-2000:]
    assert "Abort" not in err and "finalize" not in err.lower(), err[-2000:]
    ids = committed_ids(tmp_path / "out")
    assert len(ids) == SHELL_ROWS and sorted(ids) == list(range(1, SHELL_ROWS + 1)), (
        f"{len(ids)} rows, {len(set(ids))} distinct, of {SHELL_ROWS}")


def test_cluster_processes_that_used_s3_exit_with_status_0(tmp_path, s3, bucket):
    """A JobManager and two TaskManager processes (children of this test, started by the
    launcher with the S3 credentials in their environment) write checkpoints to the bucket;
    stopped with SIGTERM, each exits 0, not killed and not aborted at exit."""
    home = tmp_path / "cluster"
    info = launcher.start(home, taskmanagers=2, slots=1, port=0, rest_port=0,
                          heartbeat_timeout=3.0)
    try:
        s = Session(home=tmp_path / "shell")
        for sql in ["SET 'execution.target' = 'remote'",
                    f"SET 'jobmanager.address' = '{info.address}'",
                    "SET 'parallelism.default' = '2'",
                    "CREATE TABLE src (id BIGINT, v BIGINT) WITH ('connector' = 'datagen', "
                    "'rows-per-second' = '2000')",
                    "CREATE TABLE sink (id BIGINT, v BIGINT) WITH ('connector' = 'blackhole')",
                    "SET 'execution.checkpointing.interval' = '1 s'",
                    "SET 'execution.checkpointing.externalized-checkpoint-retention' = "
                    "'RETAIN_ON_CANCELLATION'",
                    f"SET 'execution.checkpointing.dir' = '{s3.uri(bucket, 'chk')}'"]:
            s.execute_one(sql)
        job_id = s.execute_one("INSERT INTO sink SELECT id, v FROM src").job_id
        until("two checkpoints in the bucket", lambda: (c := _checkpoints(s3, bucket))
              and c[-1][0] >= 2, timeout=60)
        s.execute_one(f"STOP JOB '{job_id}'")
    finally:
        outcome = launcher.stop(home)
    assert set(outcome.values()) == {"stopped"}, outcome
    for name, pid in info.pids.items():
        _, status = os.waitpid(pid, 0)  # the launcher's children are this process's
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (name, status)
    output = "".join(p.read_text() for p in (home / "log").glob("*.out"))
    assert "Abort" not in output and "Traceback" not in output, output[-2000:]
