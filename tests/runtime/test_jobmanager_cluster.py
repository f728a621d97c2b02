"""JobManager bookkeeping of a cluster, with fake TaskManager gateways (the processes are
tested in tests/runtime/cluster): waiting for slots, slot timeout, heartbeats, loss, fencing."""

from __future__ import annotations

import time

import pytest

from flowsql.physical.graph import Edge, JobGraph, OperatorSpec
from flowsql.runtime.descriptors import TaskReport
from flowsql.runtime.jobmanager.jobmanager import JobManager


class FakeGateway:
    remote = True

    def __init__(self) -> None:
        self.deployed: list[str] = []
        self.cancelled: list[str] = []

    def deploy(self, desc, resources) -> None:
        self.deployed.append(desc.task_id)

    def cancel(self, task_id: str) -> None:
        self.cancelled.append(task_id)

    def task_metrics(self, task_ids):
        return {}


def graph(parallelism: int) -> JobGraph:
    return JobGraph("g", (
        OperatorSpec("1-src", "values-source", {"schema": [["k", "BIGINT"]], "rows": []}, parallelism),
        OperatorSpec("2-sink", "blackhole-sink", {}, parallelism),
    ), (Edge("1-src", "2-sink", "hash", ("k",)),))


@pytest.fixture
def jm():
    m = JobManager(heartbeat_timeout=0.5, monitor_interval=3600)
    yield m
    m.shutdown(timeout=1)


def test_job_waits_for_slots_then_runs(jm):
    a = FakeGateway()
    jm.register_task_manager("tm-a", 1, a, host="10.0.0.1", data_port=1)
    job = jm.submit(graph(2), config={"slot.request.timeout": "1 min"})
    info = jm.job(job)
    assert info.state == "CREATED"
    assert info.reason == "waiting for task slots: the job needs 2, the cluster has 1 free"
    b = FakeGateway()
    jm.register_task_manager("tm-b", 1, b, host="10.0.0.2", data_port=1)
    assert jm.job(job).state == "RUNNING" and jm.job(job).reason is None
    # subtask i of both chains shares slot i: one slot per TaskManager
    assert sorted(a.deployed + b.deployed) == sorted(f"{job}/{c}.{i}" for c in (1, 2) for i in (0, 1))
    assert {t.rsplit(".", 1)[1] for t in a.deployed} != {t.rsplit(".", 1)[1] for t in b.deployed}
    assert jm.free_slots == 0


def test_slot_request_timeout_fails_the_job(jm):
    jm.register_task_manager("tm-a", 1, FakeGateway())
    job = jm.submit(graph(3), config={"slot.request.timeout": "100 ms"})
    deadline = time.monotonic() + 10
    while jm.job(job).state == "CREATED" and time.monotonic() < deadline:
        time.sleep(0.05)
        jm.check()
    info = jm.job(job)
    assert info.state == "FAILED"
    assert "needs 3 slots, the cluster has 1 free" in info.error


def test_lost_taskmanager_fails_its_jobs_and_is_fenced(jm):
    a, b = FakeGateway(), FakeGateway()
    reg_a = jm.register_task_manager("tm-a", 1, a, host="10.0.0.1", data_port=7001)
    reg_b = jm.register_task_manager("tm-b", 1, b, host="10.0.0.2", data_port=7002)
    job = jm.submit(graph(2))
    assert jm.job(job).state == "RUNNING"
    time.sleep(0.6)
    assert jm.heartbeat("tm-b", reg_b, {}) == {"status": "ok", "cancel": []}
    jm.check()  # tm-a has been silent past the heartbeat timeout
    info = jm.job(job)
    assert info.state in ("FAILING", "FAILED")
    assert "TaskManager tm-a (10.0.0.1:7001) lost: no heartbeat" in jm.error(job)[0].message
    deadline = time.monotonic() + 10  # remote cancels go out from their own thread
    while sorted(b.cancelled) != sorted(b.deployed) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(b.cancelled) == sorted(b.deployed)  # the rest of the job is cancelled
    for tid in b.deployed:
        jm.on_task_state(TaskReport("tm-b", reg_b, tid, "CANCELED"))
    assert jm.job(job).state == "FAILED"
    # tm-a comes back: its old registration is unknown (fenced), its late reports are ignored
    assert jm.heartbeat("tm-a", reg_a, {a.deployed[0]: {}}) == {"status": "unknown"}
    jm.on_task_state(TaskReport("tm-a", reg_a, a.deployed[0], "FINISHED"))
    assert jm.job(job).state == "FAILED"
    states = {t.tm_id: t.state for t in jm.task_managers()}
    assert states == {"tm-a": "LOST", "tm-b": "RUNNING"}
    reg_a2 = jm.register_task_manager("tm-a", 1, a, host="10.0.0.1", data_port=7001)
    assert reg_a2 > reg_b and jm.heartbeat("tm-a", reg_a2, {}) == {"status": "ok", "cancel": []}
    assert {t.tm_id: t.state for t in jm.task_managers()} == {"tm-a": "RUNNING", "tm-b": "RUNNING"}


def test_heartbeat_names_tasks_the_jobmanager_does_not_know(jm):
    reg = jm.register_task_manager("tm-a", 1, FakeGateway())
    assert jm.heartbeat("tm-a", reg, {"old-job/0.0": {}}) == {"status": "ok", "cancel": ["old-job/0.0"]}


def test_cancel_of_a_waiting_job(jm):
    jm.register_task_manager("tm-a", 1, FakeGateway())
    job = jm.submit(graph(2))
    assert jm.cancel(job).state == "CANCELED"


def test_only_the_latest_ended_jobs_stay_listed(tmp_path):
    from flowsql.runtime.jobmanager.store import JobStore

    store = JobStore(tmp_path / "jobs")
    m = JobManager(monitor_interval=3600, store=store, max_finished_jobs=2)
    try:
        m.register_task_manager("tm-a", 4, FakeGateway())
        ended = []
        for _ in range(4):  # waiting jobs (no slots for p=8), cancelled one after the other
            job = m.submit(graph(8), config={"slot.request.timeout": "1 h"})
            m.cancel(job, wait=True)
            ended.append(job)
        running = m.submit(graph(1))
        listed = [j.job_id for j in m.list_jobs()]
        assert listed == [*ended[2:], running]  # the two oldest ended jobs are forgotten
        assert sorted(p.stem for p in (tmp_path / "jobs").glob("*.json")) == sorted(listed)
    finally:
        m.shutdown(timeout=1)


def test_an_ended_job_lets_go_of_its_clients_resources(jm):
    """A live query's result buffer (and the rows it holds) is not kept by the job history."""
    import gc
    import weakref

    class Buffer:
        ended: str | None = None

        def on_job_end(self, state, error) -> None:
            self.ended = state

    jm.register_task_manager("tm-a", 1, FakeGateway())
    buffer = Buffer()
    ref = weakref.ref(buffer)
    job = jm.submit(graph(2), resources={"collect": buffer}, config={"slot.request.timeout": "1 h"})
    jm.cancel(job, wait=True)
    assert buffer.ended == "CANCELED"
    assert jm.job(job).state == "CANCELED"  # still listed
    del buffer
    gc.collect()
    assert ref() is None
