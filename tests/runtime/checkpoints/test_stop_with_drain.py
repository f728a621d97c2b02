"""STOP JOB ... WITH SAVEPOINT WITH DRAIN (Flink's ``stop --drain``), embedded and over REST.

A paced source (ids 1.., event time = id ms, effectively unbounded) feeds a keyed 1 s TUMBLE
count/sum into an exactly-once filesystem sink. The job is stopped once a few windows fired.
With drain the sources emit the final watermark before the savepoint barrier: every window of
the rows read fires, so the committed output is exactly DuckDB's answer over ids 1..M (M = the
rows the source read) — the last, still open windows included. Without drain the open windows
stay in the savepoint: the output lacks the window holding id M.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flowsql.errors import ValidationError
from flowsql.planner.plan import plan_inserts
from flowsql.runtime.checkpoints.storage import open_checkpoint
from flowsql.runtime.local import local_cluster
from flowsql.runtime.rest.app import create_app
from flowsql.session import Session
from flowsql.sql.statements import parse_statement
from tests.runtime.paced_windows import INSERT, check_output, config, ddl
from tests.waiting import until


def _session(tmp_path: Path, out: Path) -> Session:
    s = Session(home=tmp_path / "home")
    for sql in ddl(out):
        s.execute_one(sql)
    for key, value in config(tmp_path).items():
        s.execute_one(f"SET '{key}' = '{value}'")
    return s


@pytest.mark.parametrize("drain", [True, False])
def test_stop_with_savepoint_with_drain_fires_the_open_windows(tmp_path, drain):
    out = tmp_path / "out"
    s = _session(tmp_path, out)
    job_id = s.execute_one(INSERT).job_id
    c = local_cluster()
    until("a few windows", lambda: c.totals(job_id).records_in > 6000)
    stop = f"STOP JOB '{job_id}' WITH SAVEPOINT" + (" WITH DRAIN" if drain else "")
    path = s.execute_one(stop).table.column("savepoint path")[0].as_py()
    assert c.job(job_id).state == "FINISHED"
    assert open_checkpoint(path).metadata["savepoint"] is True
    check_output(out, c.totals(job_id).records_in, drained=drain)


def test_drain_without_a_savepoint_is_a_validation_error(tmp_path):
    s = _session(tmp_path, tmp_path / "out")
    with pytest.raises(ValidationError, match="WITH DRAIN needs WITH SAVEPOINT") as e:
        s.execute_one("STOP JOB 'abc' WITH DRAIN")
    assert "WITH SAVEPOINT WITH DRAIN" in (e.value.hint or "")


def test_stop_with_drain_over_rest(session, tmp_path):
    from flowsql.runtime.local import MiniCluster

    out = tmp_path / "out"
    for sql in ddl(out):
        session.execute_one(sql)
    graph = plan_inserts(session, [parse_statement(INSERT)]).graph
    cluster = MiniCluster()
    try:
        client = TestClient(create_app(cluster.jobmanager))
        job_id = cluster.submit(graph, config=config(tmp_path))
        until("a few windows", lambda: cluster.totals(job_id).records_in > 6000)
        r = client.post(f"/jobs/{job_id}/stop", json={"drain": True})
        assert r.status_code == 202, r.text
        request_id = r.json()["request-id"]
        done = until("the savepoint", lambda: (
            b := client.get(f"/jobs/{job_id}/savepoints/{request_id}").json())["status"]["id"]
            == "COMPLETED" and b)
        assert done["operation"]["location"].startswith(str(tmp_path / "savepoints"))
        assert client.get(f"/jobs/{job_id}").json()["state"] == "FINISHED"
        check_output(out, cluster.totals(job_id).records_in, drained=True)
    finally:
        cluster.shutdown(timeout=10.0)
