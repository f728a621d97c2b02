"""Prometheus /metrics, rate sampling, and the optional ``extra`` metrics through a fake view."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from flowsql.runtime.jobmanager.jobmanager import JobInfo
from flowsql.runtime.rest.app import create_app
from flowsql.runtime.rest.sampler import RateSampler
from flowsql.runtime.rest.view import ClusterView

NOW = 1_800_000_000.0  # the fake view's wall clock (see conftest.FakeView)


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


def test_fake_view_satisfies_the_protocol(fake_view):
    assert isinstance(fake_view, ClusterView)


def test_extra_metrics_in_job_details_and_prometheus(fake_view):
    fake = fake_view
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


def test_lost_task_managers_and_waiting_jobs(fake_view):
    client = TestClient(create_app(fake_view, clock=lambda: NOW))
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


def test_jobs_overview_leaves_out_a_job_forgotten_after_the_listing(fake_view):
    """An ended job forgotten between the listing and its graph lookup is left out, not a 404."""
    listed = fake_view.list_jobs()
    fake_view.list_jobs = lambda: [*listed, JobInfo("gone", "old", "FINISHED", NOW - 99, NOW - 98)]
    response = TestClient(create_app(fake_view, clock=lambda: NOW)).get("/jobs/overview")
    assert response.status_code == 200
    assert [j["jid"] for j in response.json()["jobs"]] == ["j1", "j2", "j3"]


def test_patch_cancels_through_the_view(fake_view):
    fake = fake_view
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
