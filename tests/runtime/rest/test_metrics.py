"""Prometheus /metrics, rate sampling, and the optional ``extra`` metrics through a fake view."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from flowsql.errors import ExecutionError
from flowsql.operators.base import OperatorMetrics
from flowsql.physical.graph import Edge, JobGraph, OperatorSpec
from flowsql.runtime.jobmanager.jobmanager import JobInfo
from flowsql.runtime.rest.app import create_app
from flowsql.runtime.rest.sampler import RateSampler
from flowsql.runtime.rest.view import ClusterView, TaskManagerInfo


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(family, **labels) -> float:
    for s in family.samples:
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise KeyError(labels)


def test_metrics_of_a_running_job(view, running_job):
    client = TestClient(create_app(view))

    def source_out():
        fams = families(client.get("/metrics").text)
        return value(fams["flowsql_operator_records_out"], job_id=running_job, operator_id="1-source")

    deadline = time.monotonic() + 20
    while source_out() == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    r = client.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    fams = families(r.text)
    assert fams["flowsql_operator_records_out"].type == "counter"
    assert value(fams["flowsql_operator_records_out"], job_id=running_job, operator_id="1-source") > 0
    assert value(fams["flowsql_operator_records_in"], job_name="rest-test-job", operator_id="2-calc") >= 0
    assert value(fams["flowsql_operator_late_records"], operator_id="5-window-aggregate") == 0
    assert value(fams["flowsql_job_info"], job_id=running_job, state="RUNNING") == 1
    assert value(fams["flowsql_taskmanager_slots"], tm_id="tm-0") == 8
    assert value(fams["flowsql_taskmanager_up"], tm_id="tm-1") == 1
    assert value(fams["flowsql_taskmanager_rss_bytes"], tm_id="tm-0") > 0
    assert value(fams["flowsql_taskmanager_cpu_seconds"], tm_id="tm-0") > 0
    assert value(fams["process_resident_memory_bytes"]) > 0  # this process, private registry
    assert "process_cpu_seconds" in fams


# -- a fake ClusterView with every optional measurement ---------------------------------------
NOW = 1_800_000_000.0


@dataclass(frozen=True)
class WaitingJobInfo(JobInfo):
    reason: str | None = None


class FakeView:
    """Two jobs: j1 RUNNING with watermarks/backpressure figures, j2 FINISHED."""

    def __init__(self) -> None:
        self.graph_ = JobGraph(
            "fake",
            (
                OperatorSpec("1-src", "source", {}, parallelism=2, name="Source(bids)"),
                OperatorSpec("2-agg", "window-aggregate", {}, parallelism=2, name="Window"),
            ),
            (Edge("1-src", "2-agg", "hash", ("k",)),),
        )
        self.busy = 0
        self.cancelled: list[str] = []

    def list_jobs(self) -> list[JobInfo]:
        return [self.job("j1"), self.job("j2"), self.job("j3")]

    def job(self, job_id: str) -> JobInfo:
        if job_id == "j1":
            return JobInfo("j1", "fake", "RUNNING", NOW - 10, None)
        if job_id == "j2":
            return JobInfo("j2", "done", "FINISHED", NOW - 20, NOW - 15)
        if job_id == "j3":
            return WaitingJobInfo("j3", "waiting", "CREATED", None, None, reason="not enough slots")
        raise ExecutionError(f"unknown job id '{job_id}'")

    def graph(self, job_id: str) -> JobGraph:
        self.job(job_id)
        return self.graph_

    def metrics(self, job_id: str) -> dict[str, OperatorMetrics]:
        self.job(job_id)
        extra = {
            "watermark": int((NOW - 2.5) * 1000),
            "busy_ms": self.busy,
            "backpressured_ms": self.busy * 2,
            "channel_fill": 0.75,
            "credits": 3,
        }
        return {
            "1-src": OperatorMetrics(0, 100, 0, {"watermark": int((NOW - 1) * 1000)}),
            "2-agg": OperatorMetrics(100, 10, 7, extra),
        }

    def error(self, job_id: str):
        self.job(job_id)
        return None, None

    def cancel(self, job_id: str, *, wait: bool = False) -> JobInfo:
        self.cancelled.append(job_id)
        return self.job(job_id)

    def task_managers(self) -> list[TaskManagerInfo]:
        return [
            TaskManagerInfo("tm-a", "10.0.0.5", 6121, 4, 1, NOW - 0.5, 1 << 30, 12.5),
            TaskManagerInfo("tm-b", "10.0.0.6", 6121, 4, 4, NOW - 60, None, None, state="LOST"),
        ]


def test_fake_view_satisfies_the_protocol():
    assert isinstance(FakeView(), ClusterView)


def test_extra_metrics_in_job_details_and_prometheus():
    fake = FakeView()
    clock_s = [100.0]
    sampler = RateSampler(clock=lambda: clock_s[0])
    client = TestClient(create_app(fake, clock=lambda: NOW, sampler=sampler))
    client.get("/jobs/j1")
    fake.busy, clock_s[0] = 1000, 102.0  # 1000 ms busy over 2 s on 2 subtasks = 25 %
    agg = client.get("/jobs/j1").json()["flowsql"]["operators"][1]
    assert agg["watermark"] == int((NOW - 2.5) * 1000) and agg["watermark-lag-ms"] == 2500
    assert agg["late-records"] == 7
    bp = agg["backpressure"]
    assert bp["busy-ratio"] == pytest.approx(0.25) and bp["ratio"] == pytest.approx(0.5)
    assert bp["level"] == "low" and bp["channel-fill"] == 0.75 and bp["credits"] == 3
    vertex = client.get("/jobs/j1").json()["vertices"][1]
    assert vertex["metrics"]["accumulated-busy-time"] == 1000

    fams = families(client.get("/metrics").text)
    labels = {"job_id": "j1", "operator_id": "2-agg"}
    assert value(fams["flowsql_operator_watermark_lag_seconds"], **labels) == pytest.approx(2.5)
    assert value(fams["flowsql_operator_busy_time_ms"], **labels) == 1000
    assert value(fams["flowsql_operator_backpressured_time_ms"], **labels) == 2000
    assert value(fams["flowsql_operator_channel_fill_ratio"], **labels) == 0.75
    assert value(fams["flowsql_operator_credits"], **labels) == 3
    assert value(fams["flowsql_operator_late_records"], **labels) == 7
    finished = [s for s in fams["flowsql_operator_records_out"].samples if s.labels["job_id"] == "j2"]
    assert finished == []  # final jobs are left out
    assert value(fams["flowsql_taskmanager_up"], tm_id="tm-b") == 0
    assert value(fams["flowsql_taskmanager_heartbeat_age_seconds"], tm_id="tm-b") == pytest.approx(60)
    assert value(fams["flowsql_taskmanager_rss_bytes"], tm_id="tm-a") == 1 << 30


def test_lost_task_managers_and_waiting_jobs():
    client = TestClient(create_app(FakeView(), clock=lambda: NOW))
    overview = client.get("/overview").json()
    assert overview["taskmanagers"] == 1 and overview["slots-total"] == 4
    assert overview["slots-available"] == 1 and overview["jobs-running"] == 2
    tms = {tm["id"]: tm for tm in client.get("/taskmanagers").json()["taskmanagers"]}
    assert tms["tm-b"]["flowsql"]["state"] == "LOST"
    assert tms["tm-b"]["flowsql"]["heartbeat-age-ms"] == 60000
    assert tms["tm-a"]["timeSinceLastHeartbeat"] == int((NOW - 0.5) * 1000)
    assert tms["tm-b"]["hardware"]["cpuCores"] == -1
    jobs = {j["jid"]: j for j in client.get("/jobs/overview").json()["jobs"]}
    assert jobs["j3"]["flowsql"]["reason"] == "not enough slots"
    assert jobs["j3"]["start-time"] == -1 and jobs["j3"]["tasks"]["created"] == 4
    assert jobs["j2"]["duration"] == 5000 and jobs["j2"]["end-time"] == int((NOW - 15) * 1000)


def test_patch_cancels_through_the_view():
    fake = FakeView()
    client = TestClient(create_app(fake))
    assert client.patch("/jobs/j1?mode=cancel").status_code == 202
    assert client.patch("/jobs/j2").status_code == 409
    assert fake.cancelled == ["j1"]


# -- the sampler on its own ------------------------------------------------------------------
def test_sampler_needs_a_sample_a_second_old():
    t = [0.0]
    s = RateSampler(clock=lambda: t[0])
    assert s.rates("j", {"op": {"out": 0}}) == {"op": {"out": None}}
    t[0] = 0.5
    assert s.rates("j", {"op": {"out": 50}})["op"]["out"] is None
    t[0] = 1.0
    assert s.rates("j", {"op": {"out": 100}})["op"]["out"] == pytest.approx(100.0)
    t[0] = 2.0
    # base: the newest sample at least 1 s old (t=1.0)
    assert s.rates("j", {"op": {"out": 300}})["op"]["out"] == pytest.approx(200.0)
    t[0] = 2.1
    assert s.rates("j", {"op": {"out": 300, "new": 5}})["op"] == {
        "out": pytest.approx(200 / 1.1),
        "new": None,
    }
    t[0] = 3.0
    assert s.rates("j", {"op": {"out": 250}})["op"]["out"] == 0  # counter went down
    assert len(s._samples["j"]) <= 4
    s.forget(["other"])
    assert s._samples == {}
