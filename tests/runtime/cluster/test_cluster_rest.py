"""The REST API, ``/metrics`` and the dashboard of the real JobManager process (HTTP on its
REST port) while an unbounded job runs at parallelism 2 on its two 1-slot TaskManagers.

The route shapes are checked over the embedded cluster in tests/runtime/rest; here the point
is the processes: TaskManagers registered over Flight, their heartbeats (metrics, RSS) reaching
the JobManager, a cancel through REST reaching the TaskManagers."""

from __future__ import annotations

import httpx2 as httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from flowsql.errors import FlowSQLError
from tests.runtime.browser import number, wait_for
from tests.waiting import poll

JOB_NAME = "cluster-rest-job"
DDL = (
    "CREATE TABLE src (k INT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' "
    "SECOND) WITH ('connector' = 'datagen', 'rows-per-second' = '200', 'fields.k.min' = '1', "
    "'fields.k.max' = '5')",
    "CREATE TABLE out (k INT, window_start TIMESTAMP(3), window_end TIMESTAMP(3), s BIGINT) "
    "WITH ('connector' = 'blackhole')",
    f"SET 'pipeline.name' = '{JOB_NAME}'",
)
INSERT = (
    "INSERT INTO out SELECT k, window_start, window_end, SUM(v) AS s FROM TABLE(TUMBLE(TABLE src, "
    "DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end"
)
FINAL = {"FINISHED", "FAILED", "CANCELED"}




@pytest.fixture(scope="module")
def http(cluster):
    with httpx.Client(base_url=f"http://127.0.0.1:{cluster.rest_port}", timeout=10.0) as client:
        yield client


@pytest.fixture
def running_job(cluster, http) -> str:
    """An unbounded job (paced datagen -> windowed SUM -> blackhole, parallelism 2) RUNNING
    on the cluster; cancelled (and its slots free again) at teardown."""
    session = cluster.session(parallelism=2)
    for sql in DDL:
        session.execute_one(sql)
    job_id = session.execute_one(INSERT).job_id
    try:
        poll(lambda: http.get(f"/jobs/{job_id}").json()["state"] == "RUNNING")
        yield job_id
    finally:
        try:
            cluster.client.cancel(job_id, wait=True, timeout=15.0)
        except FlowSQLError:
            pass
        poll(lambda: http.get("/overview").json()["slots-available"] == 2)
        session.close()


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(family, **labels) -> list:
    return [s for s in family.samples if all(s.labels.get(k) == v for k, v in labels.items())]


def test_overview_and_task_managers_of_the_real_processes(cluster, http, running_job):
    overview = http.get("/overview").json()
    assert overview["taskmanagers"] == 2 and overview["slots-total"] == 2
    assert overview["slots-available"] == 0  # parallelism 2: one subtask in each 1-slot TM
    assert overview["jobs-running"] == 1

    def reported() -> list[dict] | None:  # RSS comes with the first heartbeat
        tms = http.get("/taskmanagers").json()["taskmanagers"]
        return tms if all(tm["flowsql"]["rss-bytes"] for tm in tms) else None

    tms = poll(reported)
    assert sorted(tm["id"] for tm in tms) == ["tm-0", "tm-1"]
    ports = set()
    for tm in tms:
        assert tm["slotsNumber"] == 1 and tm["freeSlots"] == 0
        assert tm["flowsql"]["state"] == "RUNNING"
        assert tm["flowsql"]["rss-bytes"] > 1 << 20  # a Python process with pyarrow loaded
        assert tm["flowsql"]["cpu-seconds"] > 0
        # heartbeats every second (lost after 3 s without one; slack for a loaded machine)
        assert 0 <= tm["flowsql"]["heartbeat-age-ms"] < 10_000
        assert tm["timeSinceLastHeartbeat"] > 0  # epoch ms of the last heartbeat
        assert tm["hardware"]["cpuCores"] >= 1 and tm["hardware"]["physicalMemory"] > 0
        ports.add(tm["dataPort"])
    assert len(ports) == 2 and 0 not in ports  # each process serves its own Flight port
    # heartbeats keep coming: a later heartbeat time for each TaskManager
    first = {tm["id"]: tm["timeSinceLastHeartbeat"] for tm in tms}
    poll(lambda: all(tm["timeSinceLastHeartbeat"] > first[tm["id"]]
                     for tm in http.get("/taskmanagers").json()["taskmanagers"]))


def test_running_job_overview_and_details(http, running_job):
    jobs = http.get("/jobs/overview").json()["jobs"]
    (job,) = [j for j in jobs if j["jid"] == running_job]
    assert job["name"] == JOB_NAME and job["state"] == "RUNNING" and job["end-time"] == -1
    assert job["tasks"]["running"] == job["tasks"]["total"] > 0
    body = http.get(f"/jobs/{running_job}").json()
    for key in ("jid", "name", "isStoppable", "state", "start-time", "end-time", "duration",
                "now", "timestamps", "vertices", "status-counts", "plan"):  # fmt: skip
        assert key in body, key
    assert body["state"] == "RUNNING" and body["name"] == JOB_NAME
    vertices = body["vertices"]
    assert len(vertices) >= 2  # a hash exchange between TaskManagers splits the chains
    for v in vertices:
        assert v["parallelism"] == 2 and v["status"] == "RUNNING" and v["tasks"]["RUNNING"] == 2
        assert {"read-records", "write-records", "read-bytes", "write-bytes"} <= set(v["metrics"])
    assert vertices[0]["name"].startswith("Source(src)")
    assert {n["id"] for n in body["plan"]["nodes"]} == {v["id"] for v in vertices}

    # the sources' counts reach the JobManager with the TaskManagers' heartbeats
    def written() -> int:
        return http.get(f"/jobs/{running_job}").json()["vertices"][0]["metrics"]["write-records"]

    poll(lambda: written() > 0)
    ops = {o["id"]: o for o in http.get(f"/jobs/{running_job}").json()["flowsql"]["operators"]}
    assert ops["1-source"]["records-out"] > 0 and ops["1-source"]["parallelism"] == 2


def test_metrics_show_the_running_job(http, running_job):
    def source_out() -> float:
        fams = families(http.get("/metrics").text)
        found = samples(fams.get("flowsql_operator_records_out", _Empty), job_id=running_job,
                        operator_id="1-source")
        return found[0].value if found else 0.0

    poll(lambda: source_out() > 0)
    r = http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    fams = families(r.text)
    (info,) = samples(fams["flowsql_job_info"], job_id=running_job)
    assert info.labels["state"] == "RUNNING" and info.labels["job_name"] == JOB_NAME
    sink_in = samples(fams["flowsql_operator_records_in"], job_id=running_job)
    assert len(sink_in) >= 3 and all(s.value >= 0 for s in sink_in)
    for tm in ("tm-0", "tm-1"):
        assert samples(fams["flowsql_taskmanager_up"], tm_id=tm)[0].value == 1
        assert samples(fams["flowsql_taskmanager_slots"], tm_id=tm)[0].value == 1
    assert samples(fams["process_resident_memory_bytes"])[0].value > 0  # the JobManager's


class _Empty:
    samples: list = []


def test_cancel_through_rest_reaches_the_task_managers(cluster, http, running_job):
    r = http.patch(f"/jobs/{running_job}", params={"mode": "cancel"})
    assert (r.status_code, r.json()) == (202, {})
    poll(lambda: http.get(f"/jobs/{running_job}").json()["state"] in FINAL)
    body = http.get(f"/jobs/{running_job}").json()
    assert body["state"] == "CANCELED"
    assert body["end-time"] >= body["start-time"] > 0
    assert {v["status"] for v in body["vertices"]} == {"CANCELED"}
    assert cluster.client.job(running_job).state == "CANCELED"
    # the TaskManagers stopped the tasks and gave back their slots
    poll(lambda: http.get("/overview").json()["slots-available"] == 2)
    assert all(tm["freeSlots"] == 1 for tm in http.get("/taskmanagers").json()["taskmanagers"])
    assert http.get("/overview").json()["jobs-cancelled"] >= 1
    r = http.patch(f"/jobs/{running_job}", params={"mode": "cancel"})
    assert r.status_code == 409 and list(r.json()) == ["errors"]


def test_unknown_job_is_a_404_with_errors(http):
    for method, path in (("GET", "/jobs/0123456789abcdef"), ("PATCH", "/jobs/nope?mode=cancel"),
                         ("GET", "/jobs/nope/exceptions")):  # fmt: skip
        r = http.request(method, path)
        assert r.status_code == 404, path
        body = r.json()
        assert list(body) == ["errors"] and body["errors"] and all(
            isinstance(e, str) for e in body["errors"])


def test_dashboard_shows_records_of_the_running_job(cluster, browser, running_job):
    from selenium.webdriver.common.by import By

    browser.get(f"http://127.0.0.1:{cluster.rest_port}/")
    row = f'.job-row[data-job-id="{running_job}"]'
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, row))
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, ".tm-row[data-tm-id='tm-1']"))
    assert browser.find_element(By.ID, "stat-taskmanagers").text == "2"
    browser.find_element(By.CSS_SELECTOR, f"{row} .job-link").click()
    source = '.operator[data-operator-id="1-source"]'
    wait_for(lambda: number(browser.find_element(By.CSS_SELECTOR, f"{source} .records-out").text) > 0)
    assert browser.find_element(By.ID, "job-name").text == JOB_NAME
    browser.save_screenshot("/tmp/flowsql-cluster-dashboard.png")
