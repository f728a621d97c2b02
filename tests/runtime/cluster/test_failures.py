"""Failures of a real cluster (JobManager + two TaskManager processes on 127.0.0.1).

Each test gets its own cluster (``own_cluster``: heartbeat timeout 3 s) because it kills,
stops or exhausts its processes. Waits poll for evidence with generous deadlines; the only
time bounds asserted are the ones the acceptance criteria state, each named where asserted:
- a lost TaskManager fails its job within heartbeat timeout + :data:`FAIL_SLACK_S`;
- ``flowsql cluster stop`` returns within :data:`STOP_BOUND_S` (its own deadline is 8 s).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from flowsql.runtime.cluster import launcher
from flowsql.runtime.network.client import ControlClient
from tests.waiting import until as _until

HEARTBEAT_TIMEOUT_S = 3.0  # the own_cluster fixture's (tests/runtime/cluster/conftest.py)
FAIL_SLACK_S = 15.0  # generous: detection itself takes heartbeat timeout + <= 0.25 s
STOP_BOUND_S = 10.0
WAIT_S = 60.0

# a paced, unbounded source: each of its 2 subtasks emits ~2000 rows/s forever
PACED = (
    "CREATE TABLE bid (auction BIGINT, price BIGINT, ts TIMESTAMP(3), "
    "WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ("
    "'connector' = 'datagen', 'rows-per-second' = '2000', "
    "'fields.auction.min' = '1', 'fields.auction.max' = '50')"
)
SINK = ("CREATE TABLE hole (auction BIGINT, n BIGINT, window_end TIMESTAMP(3)) "
        "WITH ('connector' = 'blackhole')")
WINDOW_INSERT = (
    "INSERT INTO hole SELECT auction, COUNT(*) AS n, window_end FROM TABLE("
    "TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '1' SECOND)) "
    "GROUP BY auction, window_start, window_end"
)




def _gone(pid: int) -> bool:
    """The process ended (a zombie child of this test process is reaped and counts as gone)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] in "ZX"
    except (FileNotFoundError, ProcessLookupError):
        return True


def _tms(cluster) -> dict[str, dict[str, Any]]:
    return {t["tm_id"]: t for t in cluster.client.overview()["taskmanagers"]}


def _running_window_job(cluster) -> tuple[Any, str]:
    """Submit the paced window job at parallelism 2 (one subtask per TaskManager) and wait
    until rows reach the sink; returns the session and the job id."""
    s = cluster.session(parallelism=2)
    s.execute_one(PACED)
    s.execute_one(SINK)
    job_id = s.execute_one(WINDOW_INSERT).job_id
    assert job_id
    _until("the job to run on both TaskManagers",
           lambda: all(t["free_slots"] == 0 for t in _tms(cluster).values()))
    _until("rows to flow", lambda: cluster.client.totals(job_id).records_in > 0)
    assert cluster.client.job(job_id).state == "RUNNING"
    return s, job_id


def _cli(*args: str, timeout: float = 60.0) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "flowsql", *args], capture_output=True,
                          text=True, timeout=timeout)
    return proc, time.monotonic() - t0


def _stop_with_cli(cluster) -> float:
    """`flowsql cluster stop` (the real CLI); returns its wall time, checks every pid is gone."""
    proc, took = _cli("cluster", "stop", "--home", str(cluster.home))
    assert proc.returncode == 0, proc.stderr
    for pid in cluster.pids.values():
        assert _gone(pid), f"pid {pid} still alive after `flowsql cluster stop`"
    assert not list((cluster.home / "cluster" / "pids").glob("*.pid"))
    print(f"`flowsql cluster stop` took {took:.2f} s: {proc.stdout.strip()!r}")
    return took


def _log(home: Path, name: str) -> str:
    return (home / "log" / f"{name}.log").read_text(encoding="utf-8", errors="replace")


def test_kill_9_of_a_taskmanager_fails_the_job_naming_it_and_the_cluster_stops(own_cluster):
    c = own_cluster
    _, job_id = _running_window_job(c)
    tm1 = _tms(c)["tm-1"]
    address = f"{tm1['host']}:{tm1['data_port']}"

    os.kill(c.pids["taskmanager-1"], signal.SIGKILL)
    killed = time.monotonic()
    info = c.client.wait(job_id, HEARTBEAT_TIMEOUT_S + FAIL_SLACK_S)
    took = time.monotonic() - killed
    print(f"job FAILED {took:.2f} s after kill -9")
    assert info.state == "FAILED", info
    assert took <= HEARTBEAT_TIMEOUT_S + FAIL_SLACK_S  # acceptance bound, asserted generously
    assert "tm-1" in info.error and address in info.error, info.error

    # nothing hangs: the JobManager and the other TaskManager answer, slots are free again
    tms = _until("tm-0's slot to be free and tm-1 listed LOST",
                 lambda: (t := _tms(c))["tm-0"]["free_slots"] == 1 and t["tm-1"]["state"] == "LOST" and t)
    assert tms["tm-0"]["state"] == "RUNNING"
    tm0 = tms["tm-0"]
    ping = ControlClient(f"grpc+tcp://{tm0['host']}:{tm0['data_port']}", timeout=5.0).call("ping", {})
    assert ping["tm_id"] == "tm-0"
    assert c.client.list_jobs()[-1].state == "FAILED"
    assert c.client.overview()["slots_free"] == 1

    assert _stop_with_cli(c) <= STOP_BOUND_S


def test_sigstop_fails_the_job_then_sigcont_is_fenced_and_the_cluster_runs_jobs_again(own_cluster):
    c = own_cluster
    _, job_id = _running_window_job(c)
    tm1_pid = c.pids["taskmanager-1"]
    os.kill(tm1_pid, signal.SIGSTOP)
    try:
        stopped = time.monotonic()
        info = c.client.wait(job_id, HEARTBEAT_TIMEOUT_S + FAIL_SLACK_S)
        took = time.monotonic() - stopped
        print(f"job FAILED {took:.2f} s after SIGSTOP")
        assert info.state == "FAILED", info
        assert took <= HEARTBEAT_TIMEOUT_S + FAIL_SLACK_S  # acceptance bound, generous
        assert "TaskManager tm-1" in info.error and "no heartbeat" in info.error, info.error
        assert _tms(c)["tm-1"]["state"] == "LOST"
    finally:
        os.kill(tm1_pid, signal.SIGCONT)

    # fenced: its next heartbeat is refused, it cancels its stale tasks and registers again
    _until("tm-1 to register again with a free slot",
           lambda: (t := _tms(c).get("tm-1")) and t["state"] == "RUNNING" and t["free_slots"] == 1)
    _until("tm-1 to log its fencing",
           lambda: "the JobManager fenced tm-1" in _log(c.home, "taskmanager-tm-1"))
    # its late task reports (old registration) were ignored: the job keeps its first error
    _until("the JobManager to ignore tm-1's late reports",
           lambda: f"ignoring a report of {job_id}/" in _log(c.home, "jobmanager"))
    after = c.client.job(job_id)
    assert after.state == "FAILED" and after.error == info.error
    assert c.client.overview()["slots_free"] == 2

    # and the cluster runs a new job across both TaskManagers
    s = c.session(parallelism=2)
    s.execute_one(
        "CREATE TABLE b2 (auction BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ("
        "'connector' = 'datagen', 'number-of-rows' = '4000', 'rows-per-second' = '1000000', "
        "'fields.auction.min' = '1', 'fields.auction.max' = '7')")
    table = s.execute_one(
        "SELECT auction, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE b2, DESCRIPTOR(ts), "
        "INTERVAL '1' HOUR)) GROUP BY auction, window_start, window_end").table
    assert sum(table.column("n").to_pylist()) == 4000
    assert c.client.list_jobs()[-1].state == "FINISHED"
    assert c.client.job(job_id).state == "FAILED"


def test_cluster_stop_returns_in_time_with_a_sigstopped_process(own_cluster):
    """The launcher follows SIGTERM with SIGCONT, so the stopped TaskManager stops cleanly;
    a process that still does not end is SIGKILLed after the deadline (next test)."""
    c = own_cluster
    _running_window_job(c)
    os.kill(c.pids["taskmanager-0"], signal.SIGSTOP)
    took = _stop_with_cli(c)
    assert took <= STOP_BOUND_S  # acceptance bound (the launcher's own deadline is 8 s)


def test_launcher_stop_kills_a_process_that_ignores_sigterm_after_the_deadline(tmp_path):
    home = tmp_path / "home"
    pid_dir = home / "cluster" / "pids"
    pid_dir.mkdir(parents=True)
    stubborn = subprocess.Popen([sys.executable, "-c",
                                 "import signal, sys, time\n"
                                 "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                 "print('ready', flush=True)\n"
                                 "time.sleep(120)\n"], stdout=subprocess.PIPE, text=True)
    try:
        assert stubborn.stdout.readline().strip() == "ready"
        (pid_dir / "taskmanager-9.pid").write_text(str(stubborn.pid))
        outcome = launcher.stop(home, deadline=1.0)
        assert outcome == {"taskmanager-9": "killed"}
        assert stubborn.wait(10) == -signal.SIGKILL
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
            stubborn.wait()


def test_a_job_needing_more_slots_waits_then_fails_after_the_slot_request_timeout(own_cluster):
    c = own_cluster
    s = c.session(parallelism=3)
    s.execute_one(PACED)
    s.execute_one(SINK)
    s.execute_one("SET 'slot.request.timeout' = '2 s'")
    job_id = s.execute_one(WINDOW_INSERT).job_id
    info = c.client.job(job_id)
    if info.state == "CREATED":  # seen before the 2 s run out (the usual case)
        assert info.reason.startswith("waiting for task slots"), info.reason
        assert "needs 3" in info.reason and "2 free" in info.reason, info.reason
    info = c.client.wait(job_id, WAIT_S)
    assert info.state == "FAILED", info
    assert "needs 3 slots, the cluster has 2 free" in info.error, info.error
    assert c.client.overview()["slots_free"] == 2


def test_a_waiting_job_is_listed_created_with_its_reason(own_cluster):
    """Without a slot request timeout in reach, the job stays CREATED with its reason and is
    cancelled at once by STOP JOB."""
    c = own_cluster
    s = c.session(parallelism=3)
    s.execute_one(PACED)
    s.execute_one(SINK)
    job_id = s.execute_one(WINDOW_INSERT).job_id
    time.sleep(1.0)  # not a bound: the scheduler retries meanwhile and must keep it waiting
    info = c.client.job(job_id)
    assert info.state == "CREATED"
    assert info.reason == "waiting for task slots: the job needs 3, the cluster has 2 free"
    assert c.client.cancel(job_id).state == "CANCELED"
