"""End-to-end jobs on the MiniCluster with small test operators (real threads, real channels)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from connectors.base import SourceReader
from flowsql.errors import ExecutionError, PlanError, QueryCancelled
from flowsql.messages import MAX_WATERMARK, Watermark
from flowsql.operators.base import Collector, Operator
from flowsql.operators.registry import BuildEnv, default_registry
from flowsql.operators.sink import CollectResult, ResultAbandoned
from flowsql.operators.source import SourceOperator
from flowsql.physical.graph import Edge, JobGraph, OperatorSpec
from flowsql.runtime.local import MiniCluster


class DoubleOp(Operator):
    """v2 = v * 2; fails on a configured value (to test failures)."""

    def __init__(self, fail_on: int | None) -> None:
        self.fail_on = fail_on

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        v = batch.column("v")
        if self.fail_on is not None and pc.any(pc.equal(v, self.fail_on)).as_py():
            raise ZeroDivisionError("boom")
        out.emit(batch.append_column("v2", pc.multiply(v, 2)))


class KeyedCount(Operator):
    """Counts rows and sums v2 per key; emits (k, n, total, subtask) at the final watermark."""

    def open(self, ctx) -> None:
        super().open(ctx)
        self.parts: list[pa.Table] = []

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        self.parts.append(pa.table({"k": batch.column("k"), "v2": batch.column("v2")}))

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        if wm.timestamp == MAX_WATERMARK and self.parts:
            t = pa.concat_tables(self.parts).group_by("k").aggregate([("v2", "count"), ("v2", "sum")])
            sub = pa.array([self.ctx.subtask_index] * t.num_rows, pa.int32())
            result = pa.Table.from_arrays(
                [t.column("k"), t.column("v2_count"), t.column("v2_sum"), sub],
                names=["k", "n", "total", "subtask"],
            )
            for batch in result.to_batches():
                out.emit(batch)
            self.parts = []
        return wm


class WatermarkRecorder(Operator):
    def __init__(self, seen: list[int]) -> None:
        self.seen = seen

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        out.emit(batch)

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        self.seen.append(wm.timestamp)
        return wm


class EndlessReader(SourceReader):
    bounded = False

    def splits(self) -> list[str]:
        return ["s0"]

    def read(self, split: str) -> Iterator[pa.RecordBatch | None]:
        batch = pa.record_batch({"k": pa.array(["a"] * 10), "v": pa.array(range(10))})
        while True:
            yield batch


def _registry(resources_log: list[int] | None = None):
    def endless(params: dict, env: BuildEnv) -> SourceOperator:
        return SourceOperator(EndlessReader(), batch_size=10)

    return default_registry().with_builders(
        {
            "double": lambda params, env: DoubleOp(params.get("fail_on")),
            "keyed-count": lambda params, env: KeyedCount(),
            "record-watermarks": lambda params, env: WatermarkRecorder(env.resource(params["log"])),
            "endless": endless,
        }
    )


def _rows(n: int, keys: int) -> list[list]:
    return [[f"k{i % keys}", i, i * 10] for i in range(n)]


def _values_spec(rows: list[list], **extra) -> OperatorSpec:
    params = {
        "schema": [["k", "STRING"], ["v", "BIGINT"], ["ts", "TIMESTAMP(3)"]],
        "rows": rows,
        "batch_rows": 64,
    }
    return OperatorSpec(
        "1-source",
        "values-source",
        {**params, **extra},
        name="Values",
    )


def _count_graph(rows: list[list], fail_on: int | None = None) -> JobGraph:
    return JobGraph(
        "count-by-key",
        (
            _values_spec(rows),
            OperatorSpec("2-map", "double", {"fail_on": fail_on}),
            OperatorSpec("3-count", "keyed-count", {}, parallelism=2),
            OperatorSpec("4-sink", "collect-sink", {"result": "out"}),
        ),
        (
            Edge("1-source", "2-map"),
            Edge("2-map", "3-count", "hash", ("k",)),
            Edge("3-count", "4-sink", "rebalance"),
        ),
    )


@pytest.fixture
def cluster():
    c = MiniCluster(task_managers=2, slots_per_task_manager=4, registry=_registry())
    yield c
    c.shutdown()


def test_source_map_hash_count_sink(cluster):
    rows = _rows(1000, 10)
    result = CollectResult()
    graph = _count_graph(rows)
    assert [c.operator_ids for c in graph.chains()] == [("1-source", "2-map"), ("3-count",), ("4-sink",)]
    info = cluster.execute(graph, resources={"out": result}, timeout=60)
    assert info.state == "FINISHED"
    table = result.table(timeout=10).sort_by("k")
    assert table.column("k").to_pylist() == sorted(f"k{i}" for i in range(10))
    assert table.column("n").to_pylist() == [100] * 10
    expected = {f"k{j}": sum(2 * i for i in range(j, 1000, 10)) for j in range(10)}
    assert dict(zip(table.column("k").to_pylist(), table.column("total").to_pylist(), strict=True)) == expected
    # every key was counted by exactly one subtask, and both subtasks got keys
    assert len(set(table.column("subtask").to_pylist())) == 2
    metrics = cluster.metrics(cluster.list_jobs()[-1].job_id)
    assert metrics["1-source"].records_out == 1000
    assert metrics["2-map"].records_in == 1000 and metrics["2-map"].records_out == 1000
    assert metrics["3-count"].records_in == 1000
    assert metrics["4-sink"].records_in == 10
    assert cluster.free_slots == 8


def test_operator_failure_fails_job_naming_operator(cluster):
    result = CollectResult()
    job_id = cluster.submit(_count_graph(_rows(500, 5), fail_on=300), resources={"out": result})
    with pytest.raises(ExecutionError) as err:
        cluster.result(job_id, timeout=60)
    assert err.value.operator_id == "2-map"
    assert "2-map" in err.value.render()
    assert "ZeroDivisionError: boom" in str(err.value)
    info = cluster.job(job_id)
    assert info.state == "FAILED" and info.operator_id == "2-map" and info.end_time is not None
    _, details = cluster.jobmanager.error(job_id)
    assert "ZeroDivisionError" in details
    with pytest.raises(ExecutionError):
        result.table(timeout=10)
    assert cluster.free_slots == 8


def test_cancel_stops_unbounded_job(cluster):
    result = CollectResult(capacity=4)
    graph = JobGraph(
        "endless",
        (
            OperatorSpec("1-source", "endless", {}),
            OperatorSpec("2-map", "double", {}),
            OperatorSpec("3-count", "keyed-count", {}, parallelism=2),
            OperatorSpec("4-sink", "collect-sink", {"result": "out"}),
        ),
        (
            Edge("1-source", "2-map"),
            Edge("2-map", "3-count", "hash", ("k",)),
            Edge("3-count", "4-sink", "rebalance"),
        ),
    )
    job_id = cluster.submit(graph, resources={"out": result})
    assert cluster.job(job_id).state == "RUNNING"
    # wait until data flows through the exchange
    started = threading.Event()

    def watch() -> None:
        while not started.is_set():
            if cluster.metrics(job_id)["3-count"].records_in > 100:
                started.set()
            else:
                started.wait(0.01)

    threading.Thread(target=watch, daemon=True).start()
    assert started.wait(30)
    info = cluster.cancel(job_id, timeout=30)
    assert info.state == "CANCELED"
    assert info.end_time is not None
    with pytest.raises(QueryCancelled):
        cluster.result(job_id, timeout=1)
    with pytest.raises(QueryCancelled):
        result.table(timeout=10)
    assert cluster.free_slots == 8


def test_list_jobs_and_unknown_job(cluster):
    a = cluster.submit(_count_graph(_rows(10, 2)), resources={"out": CollectResult()})
    cluster.result(a, timeout=60)
    b = cluster.submit(_count_graph(_rows(10, 2), fail_on=3), resources={"out": CollectResult()})
    cluster.wait(b, timeout=60)
    jobs = {j.job_id: j for j in cluster.list_jobs()}
    assert jobs[a].state == "FINISHED" and jobs[a].name == "count-by-key" and jobs[a].error is None
    assert jobs[b].state == "FAILED" and "2-map" in jobs[b].error
    assert jobs[a].start_time <= jobs[a].end_time
    with pytest.raises(ExecutionError, match="unknown job"):
        cluster.job("nope")


def test_not_enough_slots():
    with MiniCluster(task_managers=1, slots_per_task_manager=1, registry=_registry()) as small:
        with pytest.raises(ExecutionError, match="not enough task slots"):
            small.submit(_count_graph(_rows(10, 2)), resources={"out": CollectResult()})
        assert small.list_jobs()[0].state == "FAILED"
        assert small.free_slots == 1


def test_unknown_kind_fails_job(cluster):
    graph = JobGraph("bad", (OperatorSpec("1-x", "no-such-kind", {}),))
    job_id = cluster.submit(graph)
    with pytest.raises(ExecutionError) as err:
        cluster.result(job_id, timeout=30)
    assert err.value.operator_id == "1-x"
    assert "no-such-kind" in str(err.value)


def test_invalid_graph_rejected_at_submit(cluster):
    graph = JobGraph(
        "bad",
        (OperatorSpec("a", "double", {}, parallelism=1), OperatorSpec("b", "double", {}, parallelism=2)),
        (Edge("a", "b"),),
    )
    with pytest.raises(PlanError, match="equal parallelism"):
        cluster.submit(graph)


def test_watermarks_flow_through_exchange(cluster):
    """Source watermarks (max - delay - 1) cross a network edge, only advancing, then MAX."""
    seen: list[int] = []
    rows_fast = [["a", i, 1_000_000 + i * 1000] for i in range(50)]
    graph = JobGraph(
        "watermarks",
        (
            _values_spec(
                rows_fast,
                watermark={"column": "ts", "delay_ms": 100},
                batch_rows=10,
                batch_size=10,
            ),
            OperatorSpec("2-record", "record-watermarks", {"log": "seen"}),
            OperatorSpec("3-sink", "blackhole-sink", {}),
        ),
        (Edge("1-source", "2-record", "rebalance"), Edge("2-record", "3-sink")),
    )
    cluster.execute(graph, resources={"seen": seen}, timeout=60)
    assert seen == sorted(seen)  # only advances
    assert seen[-1] == MAX_WATERMARK
    assert seen[:-1] == [1_000_000 + i * 1000 - 100 - 1 for i in (9, 19, 29, 39, 49)]


class TagInput(Operator):
    """Two-input operator: tags each row with the input it arrived on."""

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        out.emit(batch.append_column("input", pa.array([input_index] * batch.num_rows, pa.int32())))


def test_two_input_operator_gets_input_index():
    registry = _registry().with_builders({"tag": lambda params, env: TagInput()})
    left = OperatorSpec(
        "1-left", "values-source", {"schema": [["k", "STRING"]], "rows": [["l"]] * 30, "batch_rows": 7}
    )
    right = OperatorSpec(
        "2-right",
        "values-source",
        {"schema": [["k", "STRING"]], "rows": [["r"]] * 20, "batch_rows": 3},
        parallelism=2,
    )
    graph = JobGraph(
        "two-inputs",
        (
            left,
            right,
            OperatorSpec("3-tag", "tag", {}, parallelism=2),
            OperatorSpec("4-sink", "collect-sink", {"result": "out"}),
        ),
        (
            Edge("1-left", "3-tag", "hash", ("k",)),
            Edge("2-right", "3-tag", "forward"),
            Edge("3-tag", "4-sink", "rebalance"),
        ),
    )
    result = CollectResult()
    with MiniCluster(registry=registry) as cluster:
        cluster.execute(graph, resources={"out": result}, timeout=60)
    table = result.table(timeout=10)
    pairs = set(zip(table.column("k").to_pylist(), table.column("input").to_pylist(), strict=True))
    assert pairs == {("l", 0), ("r", 1)}
    # the single values split went to right subtask 0 only; left 30 rows, right 20 rows
    assert table.num_rows == 50


def test_collect_result_bounded_capacity_and_abort():
    result = CollectResult(capacity=1)
    result.bind(1)
    writer = result.writer()
    writer.write(pa.record_batch({"x": [1]}))
    blocked = threading.Event()
    failed: list[str] = []

    def second() -> None:
        blocked.set()
        try:
            writer.write(pa.record_batch({"x": [2]}))
        except Exception as e:  # the abandoned sink raises
            failed.append(type(e).__name__)

    t = threading.Thread(target=second)
    t.start()
    assert blocked.wait(5)
    assert result.poll(timeout=5).column("x").to_pylist() == [1]
    t.join(10)
    assert not failed  # space was freed, the write went through
    assert result.poll(timeout=5).column("x").to_pylist() == [2]
    writer.write(pa.record_batch({"x": [3]}))
    result.abort()
    with pytest.raises(ResultAbandoned):
        writer.write(pa.record_batch({"x": [4]}))
    writer.finish()
    assert [b.column("x").to_pylist() for b in result.batches(timeout=5)] == [[3]]
    assert result.done


class FailingSink(Operator):
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        raise RuntimeError("disk full")


def test_failing_downstream_releases_blocked_upstream():
    """An endless source blocked on a full channel of a failed task must not hang the job."""
    registry = _registry().with_builders({"failing-sink": lambda params, env: FailingSink()})
    graph = JobGraph(
        "fail-downstream",
        (
            OperatorSpec("1-source", "endless", {}),
            OperatorSpec("2-sink", "failing-sink", {}, parallelism=2),
        ),
        (Edge("1-source", "2-sink", "rebalance"),),
    )
    with MiniCluster(registry=registry, channel_capacity=1) as cluster:
        job_id = cluster.submit(graph)
        with pytest.raises(ExecutionError, match="disk full") as err:
            cluster.result(job_id, timeout=30)
        assert err.value.operator_id == "2-sink"
        assert cluster.job(job_id).state == "FAILED"


def test_union_of_two_sources():
    def values(op_id: str, rows: list[list]) -> OperatorSpec:
        return OperatorSpec(
            op_id, "values-source", {"schema": [["k", "STRING"], ["v", "BIGINT"]], "rows": rows}
        )

    graph = JobGraph(
        "union",
        (
            values("1-a", [["a", 1], ["a", 2]]),
            values("2-b", [["b", 3]]),
            OperatorSpec("3-union", "union", {}),
            OperatorSpec("4-sink", "collect-sink", {"result": "out"}),
        ),
        (Edge("1-a", "3-union"), Edge("2-b", "3-union"), Edge("3-union", "4-sink")),
    )
    result = CollectResult()
    with MiniCluster() as cluster:
        cluster.execute(graph, resources={"out": result}, timeout=60)
    assert sorted(result.table(timeout=5).column("v").to_pylist()) == [1, 2, 3]



class _SlowReporter:
    """A JobManager gateway whose task reports return late: the reporting task thread is
    still running after its job is FINISHED."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def task_state(self, report) -> None:
        self.inner.task_state(report)
        time.sleep(0.3)


def test_shutdown_joins_task_threads_that_already_reported():
    """A task thread still returning after its job FINISHED is joined by shutdown: a daemon
    thread left running while Python finalizes can abort the process (seen in CI as
    "terminate called without an active exception")."""
    c = MiniCluster(slots_per_task_manager=2)
    for tm in c.task_managers:
        tm.jobmanager = _SlowReporter(tm.jobmanager)
    result = CollectResult()
    graph = JobGraph(
        "slow-report",
        (_values_spec(_rows(100, 3)), OperatorSpec("2-sink", "collect-sink", {"result": "out"})),
        (Edge("1-source", "2-sink"),),
    )
    assert c.execute(graph, resources={"out": result}, timeout=60).state == "FINISHED"
    assert [t for t in threading.enumerate() if t.name.startswith("flowsql-task")]
    c.shutdown(timeout=10)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("flowsql-task")]
