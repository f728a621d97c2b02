"""Flink-shaped REST routes against a real job on the embedded MiniCluster."""

from __future__ import annotations

import logging

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from flowsql.operators.base import Collector, Operator
from flowsql.operators.registry import default_registry
from flowsql.physical.graph import Edge, JobGraph, OperatorSpec
from flowsql.runtime.local import MiniCluster
from flowsql.runtime.rest.app import create_app
from tests.runtime.rest.conftest import streaming_graph
from tests.waiting import poll, until

TERMINAL = {"FINISHED", "FAILED", "CANCELED"}


@pytest.fixture
def client(view):
    with TestClient(create_app(view)) as c:
        yield c




def test_overview_counts_task_managers_slots_and_jobs(client, running_job):
    body = client.get("/overview").json()
    assert set(body) == {
        "taskmanagers", "slots-total", "slots-available", "jobs-running", "jobs-finished",
        "jobs-cancelled", "jobs-failed", "flink-version", "flink-commit",
    }  # fmt: skip
    assert body["taskmanagers"] == 2 and body["slots-total"] == 16
    assert body["slots-available"] == 16 - 2  # parallelism 2: every chain's subtask i shares slot i
    assert body["jobs-running"] == 1 and body["jobs-failed"] == 0


def test_jobs_and_jobs_overview(client, running_job):
    assert client.get("/jobs").json() == {"jobs": [{"id": running_job, "status": "RUNNING"}]}
    (job,) = client.get("/jobs/overview").json()["jobs"]
    assert job["jid"] == running_job and job["name"] == "rest-test-job"
    assert job["state"] == "RUNNING" and job["end-time"] == -1
    assert job["start-time"] > 0 and job["duration"] >= 0 and job["last-modification"] > 0
    assert job["tasks"]["total"] == 4 and job["tasks"]["running"] == 4
    assert client.get("/v1/jobs").json() == client.get("/jobs").json()


def test_job_details_vertices_plan_and_operators(client, running_job):
    body = client.get(f"/jobs/{running_job}").json()
    for key in ("jid", "name", "isStoppable", "state", "start-time", "end-time", "duration",
                "now", "timestamps", "vertices", "status-counts", "plan"):  # fmt: skip
        assert key in body
    assert body["timestamps"]["RUNNING"] == body["start-time"]
    v1, v2 = body["vertices"]
    assert (v1["id"], v2["id"]) == ("chain-1", "chain-2")
    assert v1["name"].startswith("Source(src) -> Calc")
    assert v1["parallelism"] == 2 and v1["status"] == "RUNNING" and v1["tasks"]["RUNNING"] == 2
    assert {"read-records", "read-records-complete", "write-records", "write-records-complete",
            "read-bytes", "write-bytes"} <= set(v1["metrics"])  # fmt: skip
    assert body["status-counts"]["RUNNING"] == 2
    nodes = {n["id"]: n for n in body["plan"]["nodes"]}
    assert nodes["chain-1"]["inputs"] == []
    assert nodes["chain-2"]["inputs"] == [
        {"num": 0, "id": "chain-1", "ship_strategy": "HASH", "exchange": "pipelined_bounded"}
    ]
    ops = {o["id"]: o for o in body["flowsql"]["operators"]}
    assert ops["1-source"]["depth"] == 0 and ops["6-sink"]["vertex"] == "chain-2"
    assert ops["1-source"]["kind"] == "source" and ops["1-source"]["parallelism"] == 2
    edges = body["flowsql"]["edges"]
    assert {"source": "4-local-window-aggregate", "target": "5-window-aggregate",
            "partitioning": "hash", "keys": ["k"], "chained": False} in edges  # fmt: skip


def test_rates_come_from_two_samples_a_second_apart(client, running_job):
    first = client.get(f"/jobs/{running_job}").json()["flowsql"]["operators"][0]
    assert first["records-out-per-second"] is None  # one sample: no rate yet

    def source_rate():
        ops = client.get(f"/jobs/{running_job}").json()["flowsql"]["operators"]
        return ops[0]["records-out-per-second"]

    assert poll(source_rate) > 0
    vertex = client.get(f"/jobs/{running_job}").json()["vertices"][0]
    assert vertex["metrics"]["write-records"] > 0


def test_unknown_job_route_and_bad_params(client, running_job):
    for method, path in (("GET", "/jobs/nope"), ("GET", "/jobs/nope/exceptions"),
                         ("PATCH", "/jobs/nope"), ("GET", "/no/such/route")):  # fmt: skip
        r = client.request(method, path)
        assert r.status_code == 404, path
        assert list(r.json()) == ["errors"] and r.json()["errors"]
    r = client.patch(f"/jobs/{running_job}?mode=savepoint")
    assert r.status_code == 400 and "mode" in r.json()["errors"][0]
    r = client.delete("/jobs")
    assert r.status_code == 405 and "errors" in r.json()


def test_cancel_via_patch(client, running_job):
    r = client.patch(f"/jobs/{running_job}", params={"mode": "cancel"})
    assert (r.status_code, r.json()) == (202, {})
    poll(lambda: client.get(f"/jobs/{running_job}").json()["state"] == "CANCELED")
    body = client.get(f"/jobs/{running_job}").json()
    assert body["end-time"] >= body["start-time"] and body["timestamps"]["CANCELED"] > 0
    assert {v["status"] for v in body["vertices"]} == {"CANCELED"}
    r = client.patch(f"/jobs/{running_job}")
    assert r.status_code == 409 and "CANCELED" in r.json()["errors"][0]
    assert client.get("/overview").json()["jobs-cancelled"] == 1


class Explode(Operator):
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        raise ZeroDivisionError("boom in the test operator")


def test_failed_job_exceptions():
    registry = default_registry().with_builders({"explode": lambda params, env: Explode()})
    graph = JobGraph(
        "failing",
        (
            OperatorSpec("1-source", "values-source",
                         {"schema": [["v", "BIGINT"]], "rows": [[1], [2]]}, name="Values"),  # fmt: skip
            OperatorSpec("2-explode", "explode", {}, name="Explode"),
            OperatorSpec("3-sink", "blackhole-sink", {}, name="Blackhole"),
        ),
        (Edge("1-source", "2-explode", "rebalance"), Edge("2-explode", "3-sink")),
    )
    with MiniCluster(1, 4, registry=registry) as cluster:
        client = TestClient(create_app(cluster.jobmanager))
        job_id = cluster.submit(graph)
        cluster.wait(job_id, timeout=20)
        body = client.get(f"/jobs/{job_id}/exceptions").json()
        assert "boom in the test operator" in body["root-exception"]
        assert "ZeroDivisionError" in body["root-exception"]  # the traceback text
        assert body["timestamp"] > 0 and body["truncated"] is False
        (entry,) = body["exceptionHistory"]["entries"]
        assert entry["exceptionName"].endswith("ExecutionError")
        assert entry["taskName"] == "Explode -> Blackhole"
        assert body["all-exceptions"][0]["task"] == "Explode -> Blackhole"
        assert body["flowsql"]["operator-id"] == "2-explode"
        details = client.get(f"/jobs/{job_id}").json()
        assert details["state"] == "FAILED"
        assert {v["id"]: v["status"] for v in details["vertices"]} == {
            "chain-1": "CANCELED",
            "chain-2": "FAILED",
        }
        assert client.get("/jobs/overview").json()["jobs"][0]["tasks"]["failed"] == 1


def test_no_exception_while_running(client, running_job):
    body = client.get(f"/jobs/{running_job}/exceptions").json()
    assert body["root-exception"] is None and body["exceptionHistory"]["entries"] == []


def test_task_managers_and_config(client):
    tms = client.get("/taskmanagers").json()["taskmanagers"]
    assert [tm["id"] for tm in tms] == ["tm-0", "tm-1"]
    tm = tms[0]
    assert tm["slotsNumber"] == 8 and tm["freeSlots"] == 8 and tm["dataPort"] == 0
    assert tm["hardware"]["cpuCores"] >= 1 and tm["hardware"]["physicalMemory"] > 0
    assert tm["flowsql"]["state"] == "RUNNING" and tm["flowsql"]["rss-bytes"] > 0
    assert tm["flowsql"]["cpu-seconds"] > 0 and tm["flowsql"]["heartbeat-age-ms"] >= 0
    config = client.get("/config").json()
    assert config["refresh-interval"] == 1000 and config["flink-version"]
    assert "timezone-name" in config


class BrokenView:
    """A view whose job list fails; everything else is the JobManager's."""

    def __init__(self, cluster) -> None:
        self.jm = cluster.jobmanager

    def __getattr__(self, name):
        return getattr(self.jm, name)

    def list_jobs(self):
        raise RuntimeError("kaput\nsecond line must not leak")


def test_internal_error_is_a_one_line_500(cluster, caplog):
    client = TestClient(create_app(BrokenView(cluster)), raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="flowsql.runtime"):
        r = client.get("/jobs")
    assert r.status_code == 500
    assert r.json() == {"errors": ["internal error: RuntimeError: kaput"]}
    assert "Traceback" not in r.text
    assert any(rec.exc_info for rec in caplog.records)  # the traceback went to the log


def test_openapi_lists_the_routes_with_flink_field_names(client):
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    for path in ("/overview", "/jobs", "/jobs/overview", "/jobs/{jobid}", "/jobs/{jobid}/exceptions",
                 "/taskmanagers", "/config", "/metrics"):  # fmt: skip
        assert path in paths, path
    assert "patch" in paths["/jobs/{jobid}"]
    schemas = doc["components"]["schemas"]
    assert "slots-total" in schemas["Overview"]["properties"]
    assert "start-time" in schemas["JobOverviewEntry"]["properties"]
    assert "root-exception" in schemas["JobExceptions"]["properties"]


def test_dashboard_is_served(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert '<script src="/static/app.js"' in r.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200


def test_checkpoints_route_has_flinks_fields(session, cluster, tmp_path):
    client = TestClient(create_app(cluster.jobmanager))
    graph = streaming_graph(session)
    job_id = cluster.submit(graph, config={
        "execution.checkpointing.interval": "200 ms",
        "execution.checkpointing.dir": str(tmp_path / "chk")})
    try:
        body = until("two completed checkpoints", lambda: (
            b := client.get(f"/jobs/{job_id}/checkpoints").json())["counts"]["completed"] >= 2
            and b)
    finally:
        cluster.cancel(job_id, wait=True, timeout=10.0)
    assert set(body) == {"counts", "summary", "latest", "history"}
    assert set(body["counts"]) == {"restored", "total", "in_progress", "completed", "failed"}
    done = body["latest"]["completed"]
    assert done["@class"] == "completed" and done["status"] == "COMPLETED"
    assert done["num_subtasks"] == done["num_acknowledged_subtasks"] > 0
    assert done["state_size"] > 0 and done["external_path"].endswith(f"chk-{done['id']}")
    assert body["history"][0]["id"] >= body["history"][-1]["id"]  # newest first
    assert body["summary"]["end_to_end_duration"]["max"] >= 0
    off = cluster.submit(graph)
    try:
        assert client.get(f"/jobs/{off}/checkpoints").json()["history"] == []
    finally:
        cluster.cancel(off, wait=True, timeout=10.0)


def test_metrics_carry_checkpoint_counts(session, cluster, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    client = TestClient(create_app(cluster.jobmanager))
    job_id = cluster.submit(streaming_graph(session), config={
        "execution.checkpointing.interval": "200 ms",
        "execution.checkpointing.dir": str(tmp_path / "chk")})
    try:
        until("a completed checkpoint", lambda: client.get(
            f"/jobs/{job_id}/checkpoints").json()["counts"]["completed"] >= 1)
        text = client.get("/metrics").text
    finally:
        cluster.cancel(job_id, wait=True, timeout=10.0)
    samples = {(s.name, s.labels.get("status")): s.value
               for f in text_string_to_metric_families(text) for s in f.samples
               if s.labels.get("job_id") == job_id}
    assert samples[("flowsql_job_checkpoints_total", "completed")] >= 1
    assert samples[("flowsql_job_last_checkpoint_id", None)] >= 1
    assert samples[("flowsql_job_last_checkpoint_size_bytes", None)] > 0
    assert ("flowsql_job_restarts_total", None) in samples


def _savepoint(client, job_id: str, route: str, body: dict) -> str:
    """POST /jobs/{id}/<route>, poll the request until COMPLETED; returns the location."""
    r = client.post(f"/jobs/{job_id}/{route}", json=body)
    assert r.status_code == 202, r.text
    request_id = r.json()["request-id"]
    done = until("the savepoint", lambda: (
        b := client.get(f"/jobs/{job_id}/savepoints/{request_id}").json())["status"]["id"]
        == "COMPLETED" and b)
    return done["operation"]["location"]


def test_stop_with_savepoint_over_rest(session, cluster, tmp_path):
    client = TestClient(create_app(cluster.jobmanager))
    graph = streaming_graph(session)
    job_id = cluster.submit(graph, config={
        "execution.checkpointing.savepoint-dir": str(tmp_path / "sp")})
    until("the job to run", lambda: cluster.totals(job_id).records_in > 0)
    location = _savepoint(client, job_id, "stop", {})
    assert location.startswith(str(tmp_path / "sp")) and (tmp_path / "sp").exists()
    assert client.get(f"/jobs/{job_id}").json()["state"] == "FINISHED"
    assert client.get(f"/jobs/{job_id}/savepoints/nope").status_code == 404
    assert client.post(f"/jobs/{job_id}/stop", json={}).status_code == 409


def test_a_savepoint_while_the_job_runs_on(session, cluster, tmp_path):
    from flowsql.runtime.checkpoints.storage import open_checkpoint

    client = TestClient(create_app(cluster.jobmanager))
    job_id = cluster.submit(streaming_graph(session))
    try:
        until("the job to run", lambda: cluster.totals(job_id).records_in > 0)
        location = _savepoint(client, job_id, "savepoints",
                              {"target-directory": str(tmp_path / "sp")})
        assert open_checkpoint(location).metadata["savepoint"] is True
        before = cluster.totals(job_id).records_in
        until("rows after the savepoint", lambda: cluster.totals(job_id).records_in > before)
        assert client.get(f"/jobs/{job_id}").json()["state"] == "RUNNING"
    finally:
        cluster.cancel(job_id, wait=True, timeout=10.0)
