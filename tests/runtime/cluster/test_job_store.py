"""A restarted JobManager still lists its jobs (the job store under its home): a finished job
with its counts, and a job that was running when the JobManager was killed as FAILED."""

from __future__ import annotations

import os
import signal


def test_restarted_jobmanager_lists_finished_and_interrupted_jobs(tmp_path, make_cluster):
    home = tmp_path / "cluster-home"
    c = make_cluster(home)
    try:
        s = c.session(parallelism=1)
        s.execute_one(
            "CREATE TABLE g (k BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '1000', "
            "'rows-per-second' = '1000000', 'seed' = '1')")
        s.execute_one("CREATE TABLE paced (k BIGINT) WITH ('connector' = 'datagen', "
                      "'rows-per-second' = '100')")
        s.execute_one("CREATE TABLE out_t (k BIGINT) WITH ('connector' = 'blackhole')")
        s.execute_one("SET 'table.dml-sync' = 'true'")
        finished = s.execute_one("INSERT INTO out_t SELECT k FROM g").job_id
        s.execute_one("SET 'table.dml-sync' = 'false'")
        running = s.execute_one("INSERT INTO out_t SELECT k FROM paced").job_id
        assert c.client.job(running).state in ("CREATED", "RUNNING")
        os.kill(c.pids["jobmanager"], signal.SIGKILL)  # no chance to record the job's end
    finally:
        c.stop()
    c = make_cluster(home)
    jobs = {j.job_id: j for j in c.client.list_jobs()}
    assert jobs[finished].state == "FINISHED"
    assert c.client.totals(finished).records_out == 1000
    assert jobs[running].state == "FAILED"
    assert "JobManager stopped" in jobs[running].error
