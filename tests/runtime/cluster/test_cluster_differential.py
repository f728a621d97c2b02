"""The differential harness's queries on a real cluster: parallelism 2 across two TaskManager
processes equals parallelism 1 in the embedded engine and DuckDB batch mode.

Inputs come from the harness's strategies (no row is late, see ``harness.make_on_time``): at
parallelism 2 a window operator's watermark is the minimum over its input channels, which is
never ahead of the one at parallelism 1, so an on-time row stays on time and every result is
deterministic. The input files are written by the harness to the local filesystem, which the
TaskManager processes (same machine) read; the plan carries the table definitions."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx2 as httpx
import pytest
from hypothesis import given, settings

sys.path.insert(0, str(Path(__file__).parents[2] / "e2e"))  # the harness and its queries

from harness import DIFF_SETTINGS, Differential, Input, assert_same_rows, inputs  # noqa: E402
from test_differential_calc import CALC  # noqa: E402
from test_differential_group import GROUPS  # noqa: E402
from test_differential_windows import WINDOWS  # noqa: E402

from flowsql.messages import ROW_KIND  # noqa: E402
from tests.examples import examples

QUERIES = {
    "calc": CALC["filter_project"],
    "tumble": WINDOWS["tumble_keyed"],
    "hop": WINDOWS["hop"],
    "cumulate": WINDOWS["cumulate"],
    "session": WINDOWS["session_partitioned"],
    "legacy_tumble": WINDOWS["legacy_tumble"],
    "group_changelog": GROUPS["group_having"],
    "union_all": ("SELECT k, v, ts, r.b AS rb FROM t WHERE v >= 0 "
                  "UNION ALL SELECT k, v * 10 AS v, ts, r.b AS rb FROM t2 WHERE k IS NOT NULL"),
}
CLUSTER_SETTINGS = settings(DIFF_SETTINGS, max_examples=examples(5))
# At most 1,000 rows in at most 20 source batches per input (the harness draws up to 2,000 rows
# in up to 60 batches): enough for windows to fire and results to be retracted many times, and
# it keeps each job short on a shared machine. A prefix of an input is on time as a whole.
MAX_ROWS = 1000
MAX_BATCHES = 20


def _smaller(data: Input) -> Input:
    table = data.table.slice(0, MAX_ROWS)
    batch_size = max(data.batch_size, -(-table.num_rows // MAX_BATCHES), 1)
    return Input(table, data.row_group, batch_size=batch_size, parallelism=2)


def _run(d: Differential, sql: str, *, address: str | None, parallelism: int):
    config = d.session.config
    config.set("execution.target", "remote" if address else "local")
    if address:
        config.set("jobmanager.address", address)
    config.set("parallelism.default", str(parallelism))
    d.mode("streaming")
    result = d.execute(sql)
    assert result.kind == "table", f"streaming SELECT gave {result.kind}: {result.message}"
    return result


def _parallelism(cluster, job_id: str) -> set[int]:
    """The parallelism of the job's vertices, as the JobManager process's REST API shows it."""
    body = httpx.get(f"http://127.0.0.1:{cluster.rest_port}/jobs/{job_id}", timeout=10).json()
    return {v["parallelism"] for v in body["vertices"]}


@pytest.mark.parametrize("name", sorted(QUERIES))
@CLUSTER_SETTINGS
@given(data=inputs().map(_smaller), other=inputs(small_only=True).map(_smaller))
def test_parallelism_2_on_the_cluster_equals_embedded_and_batch(cluster, name, data, other):
    sql = QUERIES[name]
    with Differential() as d:
        d.table("t", data)
        d.table("t2", other, fmt="json")
        remote = _run(d, sql, address=cluster.address, parallelism=2)
        assert cluster.client.job(remote.job_id).state == "FINISHED"
        # two 1-slot TaskManagers: a vertex at parallelism 2 has a subtask in each process
        assert 2 in _parallelism(cluster, remote.job_id)
        if name == "group_changelog":  # an updating result: its changelog was applied
            assert ROW_KIND in remote.extra["changelog"].column_names
        embedded = _run(d, sql, address=None, parallelism=1)
        batched = d.batch(sql)
        assert_same_rows(remote.table, embedded.table, context=f"cluster p=2 vs embedded p=1: {sql}")
        assert_same_rows(remote.table, batched, context=f"cluster p=2 vs batch: {sql}")
