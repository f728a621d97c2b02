"""Fixtures: a MiniCluster running a real unbounded SQL job, and a REST app over it."""

from __future__ import annotations

import pytest

from flowsql.physical.graph import JobGraph
from flowsql.planner.plan import plan_inserts
from flowsql.runtime.local import MiniCluster
from flowsql.runtime.rest.embedded import EmbeddedClusterView
from flowsql.sql.statements import parse_statement

DDL = """
CREATE TABLE src (k INT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'datagen', 'rows-per-second' = '500', 'fields.k.min' = '1', 'fields.k.max' = '5');
CREATE TABLE out (k INT, window_start TIMESTAMP(3), window_end TIMESTAMP(3), s BIGINT)
WITH ('connector' = 'blackhole');
SET 'parallelism.default' = '2';
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
    return EmbeddedClusterView(cluster)


@pytest.fixture
def running_job(session, cluster) -> str:
    """The id of a running unbounded job (cancelled by the cluster fixture's shutdown)."""
    job_id = cluster.submit(streaming_graph(session))
    yield job_id
    cluster.cancel(job_id, wait=True, timeout=10.0)
