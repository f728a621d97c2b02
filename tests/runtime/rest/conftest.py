"""Fixtures: a MiniCluster running a real unbounded SQL job, and a REST app over it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from flowsql.errors import UnknownJobError
from flowsql.operators.base import OperatorMetrics
from flowsql.physical.graph import Edge, JobGraph, OperatorSpec
from flowsql.planner.plan import plan_inserts
from flowsql.runtime.jobmanager.jobmanager import JobInfo
from flowsql.runtime.local import MiniCluster
from flowsql.runtime.rest.view import TaskManagerInfo
from flowsql.sql.statements import parse_statement

DDL = """
CREATE TABLE src (k INT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'datagen', 'rows-per-second' = '500', 'fields.k.min' = '1', 'fields.k.max' = '5');
CREATE TABLE out (k INT, window_start TIMESTAMP(3), window_end TIMESTAMP(3), s BIGINT)
WITH ('connector' = 'blackhole');
SET 'parallelism.default' = '2';
SET 'execution.embedded.parallelism' = 'threads';
SET 'pipeline.name' = 'rest-test-job';
"""
INSERT = (
    "INSERT INTO out SELECT k, window_start, window_end, SUM(v * 2) AS s FROM TABLE(TUMBLE(TABLE src, "
    "DESCRIPTOR(ts), INTERVAL '1' SECOND)) WHERE v > 0 GROUP BY k, window_start, window_end"
)


def streaming_graph(session) -> JobGraph:
    """datagen (paced, unbounded, p=2) -> calc -> windowed SUM (two-phase) -> blackhole."""
    session.execute_one(DDL)
    stmt = parse_statement(INSERT)
    return plan_inserts(session, [stmt]).graph


@pytest.fixture
def cluster():
    c = MiniCluster(task_managers=2, slots_per_task_manager=8)
    yield c
    c.shutdown(timeout=10.0)


@pytest.fixture
def view(cluster):
    return cluster.jobmanager


@pytest.fixture
def running_job(session, cluster) -> str:
    """The id of a running unbounded job (cancelled by the cluster fixture's shutdown)."""
    job_id = cluster.submit(streaming_graph(session))
    yield job_id
    cluster.cancel(job_id, wait=True, timeout=10.0)


# -- a fake ClusterView with every optional measurement ---------------------------------------
NOW = 1_800_000_000.0  # the fake view's wall clock (epoch s)


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
        raise UnknownJobError(job_id)

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


@pytest.fixture
def fake_view() -> FakeView:
    return FakeView()
