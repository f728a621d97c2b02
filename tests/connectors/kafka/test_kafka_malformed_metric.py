"""Records a lenient format skips are visible to users: SHOW JOBS' ``malformed`` column, the
REST job view (per operator and per job) and the Prometheus counter, for a running job over
a topic of 10 JSON records of which 2 are malformed."""

from __future__ import annotations

import json
import time

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from flowsql.runtime.rest.app import create_app
from flowsql.session.streaming import cluster
from tests.connectors.kafka.kafka_util import produce


def test_skipped_records_in_show_jobs_rest_and_prometheus(session, bootstrap, new_topic):
    topic = new_topic()
    records = [json.dumps({"v": i}) for i in range(10)]
    records[3], records[7] = "not json", json.dumps({"v": "x"})  # 2 malformed of 10
    produce(bootstrap, topic, records)
    session.execute_one(
        "CREATE TABLE t (v INT) WITH ('connector' = 'kafka', "
        f"'properties.bootstrap.servers' = '{bootstrap}', 'topic' = '{topic}', 'format' = 'json', "
        "'scan.startup.mode' = 'earliest-offset', 'json.ignore-parse-errors' = 'true')")
    session.execute_one("CREATE TABLE bh (v INT) WITH ('connector' = 'blackhole')")
    job_id = session.execute_one("INSERT INTO bh SELECT v FROM t").job_id  # unbounded: runs on
    try:
        deadline = time.monotonic() + 60
        while (cluster(session).totals(job_id).records_out,
               cluster(session).totals(job_id).malformed_records) != (8, 2):
            assert time.monotonic() < deadline, cluster(session).totals(job_id)
            time.sleep(0.05)
        jobs = session.execute_one("SHOW JOBS").table.to_pylist()
        row = next(j for j in jobs if j["job id"] == job_id)
        assert row["malformed"] == 2 and row["records out"] == 8

        client = TestClient(create_app(cluster(session).jobmanager))
        details = client.get(f"/jobs/{job_id}").json()["flowsql"]
        assert details["malformed-records"] == 2
        by_kind = {op["kind"]: op["malformed-records"] for op in details["operators"]}
        assert by_kind["source"] == 2 and by_kind["sink"] == 0
        samples = [s for f in text_string_to_metric_families(client.get("/metrics").text)
                   if f.name == "flowsql_operator_malformed_records" for s in f.samples
                   if s.labels["job_id"] == job_id]
        assert [s.value for s in samples] == [2]
    finally:
        cluster(session).cancel(job_id, wait=True)
    # the count stays in SHOW JOBS once the job has ended
    row = next(j for j in session.execute_one("SHOW JOBS").table.to_pylist() if j["job id"] == job_id)
    assert row["malformed"] == 2
