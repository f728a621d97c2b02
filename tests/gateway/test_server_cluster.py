"""``flowsql gateway --jobmanager HOST:PORT`` in front of a real local cluster (one JobManager,
one TaskManager, free ports): a live query submitted over REST runs as a job on the cluster,
its changelog comes back through the gateway, and closing the operation cancels the job."""

from __future__ import annotations

import httpx2 as httpx

from flowsql.runtime.cluster import launcher
from flowsql.runtime.cluster.client import RemoteCluster
from tests.gateway import gateway_process
from tests.waiting import until


def test_gateway_in_front_of_a_cluster(tmp_path):
    cluster_home = tmp_path / "cluster"
    cluster_home.mkdir()
    info = launcher.start(cluster_home, taskmanagers=1, slots=2, port=0, rest_port=0)
    try:
        client = RemoteCluster(info.address)
        with gateway_process.running(tmp_path / "gw", "--jobmanager", info.address) as gw, \
                httpx.Client(base_url=gw.url, timeout=30) as c:
            sh = c.post("/v4/sessions", json={}).json()["sessionHandle"]
            props = c.get(f"/v4/sessions/{sh}").json()["properties"]
            assert props["execution.target"] == "remote"
            assert props["jobmanager.address"] == info.address
            c.post(f"/v4/sessions/{sh}/configure-session", json={"statement": (
                "CREATE TABLE cl (k INT, v BIGINT) WITH ('connector' = 'datagen', "
                "'rows-per-second' = '100', 'fields.k.min' = '1', 'fields.k.max' = '3')")}
                   ).raise_for_status()
            oh = c.post(f"/v4/sessions/{sh}/statements", json={
                "statement": "SELECT k, COUNT(*) AS n FROM cl GROUP BY k"}).json()["operationHandle"]
            uri = f"/v4/sessions/{sh}/operations/{oh}/result/0?rowFormat=JSON"

            def payload():
                nonlocal uri
                body = c.get(uri).json()
                uri = body["nextResultUri"]
                return body if body["resultType"] == "PAYLOAD" else None

            body = until("changelog rows from the cluster", payload, timeout=60)
            # Flink's jobID is the cluster's job id left-padded to 32 hex digits
            (running,) = [j for j in client.list_jobs() if body["jobID"].endswith(j.job_id)]
            assert running.state == "RUNNING"
            c.delete(f"/v4/sessions/{sh}/operations/{oh}/close")
            until("the job to be cancelled on the cluster",
                  lambda: client.job(running.job_id).state == "CANCELED", timeout=60)
    finally:
        launcher.stop(cluster_home)
