"""A real streaming job: nexmark (p=2) -> bids -> hash(auction) -> TUMBLE window (p=2) -> collect,
checked against DuckDB over the same bounded events."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from catalog.table import Column, ObjectName, TableDefinition
from connectors.nexmark.factory import NexmarkFactory
from connectors.nexmark.generator import AUCTION_TYPE, BID_TYPE, PERSON_TYPE
from flowsql.operators.base import Collector, Operator
from flowsql.operators.registry import default_registry
from flowsql.operators.sink import CollectResult
from flowsql.physical.graph import Edge, JobGraph, OperatorSpec
from flowsql.runtime.local import MiniCluster


class Bids(Operator):
    """Test stand-in for a calc: keep bids, flatten auction/price/dateTime."""

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        bids = batch.filter(pc.equal(batch.column("event_type"), 2))
        bid = bids.column("bid")
        out.emit(
            pa.record_batch(
                {
                    "auction": pc.struct_field(bid, "auction"),
                    "price": pc.struct_field(bid, "price"),
                    "dateTime": pc.struct_field(bid, "dateTime"),
                }
            )
        )


def test_tumbling_window_counts_match_duckdb():
    table = TableDefinition(
        ObjectName("c", "d", "datagen"),
        (
            Column("event_type", "INT"),
            Column("person", PERSON_TYPE),
            Column("auction", AUCTION_TYPE),
            Column("bid", BID_TYPE),
        ),
        {
            "connector": "nexmark",
            "events.num": "30000",
            "first-event.rate": "3000",
            "next-event.rate": "3000",
            "batch-size": "1000",
        },
    )
    window = {
        "window": {"kind": "TUMBLE", "time_column": "dateTime", "size_ms": 1000},
        "keys": ["auction"],
        "aggs": [
            {"function": "COUNT_STAR", "input": None, "output": "bids"},
            {"function": "SUM", "input": "price", "output": "total"},
        ],
        "window_columns": ["window_start", "window_end"],
    }
    graph = JobGraph(
        "nexmark-tumble",
        (
            OperatorSpec(
                "1-source",
                "source",
                {"table": table.to_json(), "watermark": {"column": "bid.dateTime", "delay_ms": 0}},
                parallelism=2,
            ),
            OperatorSpec("2-bids", "bids", {}, parallelism=2),
            OperatorSpec("3-window", "window-aggregate", {"spec": window}, parallelism=2),
            OperatorSpec("4-sink", "collect-sink", {"result": "out"}),
        ),
        (
            Edge("1-source", "2-bids"),
            Edge("2-bids", "3-window", "hash", ("auction",)),
            Edge("3-window", "4-sink", "rebalance"),
        ),
    )
    registry = default_registry().with_builders({"bids": lambda params, env: Bids()})
    result = CollectResult()
    with MiniCluster(registry=registry) as cluster:
        info = cluster.execute(graph, resources={"out": result}, timeout=120)
        metrics = cluster.metrics(info.job_id)
    assert metrics["1-source"].records_out == 30_000
    assert metrics["3-window"].late_records_dropped == 0
    got = result.table(timeout=10)

    factory = NexmarkFactory()
    events = factory.batch_scan(table, factory.validate(table)).arrow().read_all()  # noqa: F841
    expected = duckdb.sql(
        """
        SELECT bid.auction AS auction,
               epoch_ms(epoch_ms(bid.dateTime) // 1000 * 1000) AS window_start,
               count(*) AS bids, sum(bid.price) AS total
        FROM events WHERE event_type = 2 GROUP BY ALL
        """
    ).arrow()
    if isinstance(expected, pa.RecordBatchReader):
        expected = expected.read_all()
    keys = ["auction", "window_start"]
    got_rows = sorted(
        zip(*(got.column(c).to_pylist() for c in [*keys, "bids", "total"]), strict=True)
    )
    exp_rows = sorted(
        zip(*(expected.column(c).to_pylist() for c in [*keys, "bids", "total"]), strict=True)
    )
    assert len(got_rows) > 10
    assert got_rows == exp_rows
