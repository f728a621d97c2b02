"""A shell connected to a cluster stops a job WITH SAVEPOINT WITH DRAIN: the request goes
through the cluster client to the JobManager process, the trigger with drain to the source
task in a TaskManager process, and every open window reaches the sink."""

from __future__ import annotations

from tests.runtime.paced_windows import INSERT, check_output, config, ddl
from tests.waiting import until


def test_a_remote_shell_stops_a_job_with_drain(cluster, flowsql_home, tmp_path):
    out = tmp_path / "out"
    s = cluster.session(parallelism=1)
    for sql in ddl(out):
        s.execute_one(sql)
    for key, value in config(tmp_path).items():
        s.execute_one(f"SET '{key}' = '{value}'")
    job_id = s.execute_one(INSERT).job_id
    until("a few windows", lambda: cluster.client.totals(job_id).records_in > 6000)
    path = s.execute_one(f"STOP JOB '{job_id}' WITH SAVEPOINT WITH DRAIN").table.column(
        "savepoint path")[0].as_py()
    assert path.startswith(str(tmp_path / "savepoints"))
    assert cluster.client.job(job_id).state == "FINISHED"
    check_output(out, cluster.client.totals(job_id).records_in, drained=True)
