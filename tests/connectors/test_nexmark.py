"""The nexmark generator and connector: proportions, ids, time, determinism, schema, options."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from catalog.table import Column, ObjectName, TableDefinition
from connectors.nexmark.factory import NexmarkFactory, NexmarkReader
from connectors.nexmark.generator import (
    AUCTION_TYPE,
    BID_TYPE,
    NEXMARK_SCHEMA,
    PERSON_TYPE,
    NexmarkConfig,
    NexmarkGenerator,
)
from connectors.registry import get_factory
from flowsql.errors import ConnectorError
from flowsql.operators.sink import CollectResult
from flowsql.physical.graph import Edge, JobGraph, OperatorSpec
from flowsql.runtime.local import MiniCluster
from flowsql.types import parse_type, to_arrow

DDL_COLUMNS = (
    Column("event_type", "INT"),
    Column("person", PERSON_TYPE),
    Column("auction", AUCTION_TYPE),
    Column("bid", BID_TYPE),
    Column("dateTime", None, kind="computed", expression="CASE WHEN ... END"),
)


def _table(**options: str) -> TableDefinition:
    return TableDefinition(
        ObjectName("default_catalog", "default_database", "datagen"),
        DDL_COLUMNS,
        {"connector": "nexmark", **options},
    )


@pytest.fixture(scope="module")
def gen() -> NexmarkGenerator:
    return NexmarkGenerator(NexmarkConfig(seed=7))


def test_schema_matches_flink_ddl_types(gen):
    batch = gen.batch(0, 500)
    expected = pa.schema(
        [
            pa.field("event_type", to_arrow(parse_type("INT"))),
            pa.field("person", to_arrow(parse_type(PERSON_TYPE))),
            pa.field("auction", to_arrow(parse_type(AUCTION_TYPE))),
            pa.field("bid", to_arrow(parse_type(BID_TYPE))),
        ]
    )
    assert batch.schema == expected == NEXMARK_SCHEMA
    batch.validate(full=True)


def test_proportions_1_3_46(gen):
    batch = gen.batch(0, 50 * 200)
    types = batch.column("event_type").to_numpy()
    assert np.bincount(types).tolist() == [200, 600, 9200]
    # within every 50 events: 1 person, then 3 auctions, then 46 bids
    assert types[:50].tolist() == [0] + [1] * 3 + [2] * 46
    # exactly the matching struct is non-null
    for kind, name in enumerate(("person", "auction", "bid")):
        valid = batch.column(name).is_valid().to_numpy(zero_copy_only=False)
        assert (valid == (types == kind)).all()
        # children of a NULL struct are NULL too (DuckDB and pyarrow agree on nulls)
        child = pc.struct_field(batch.column(name), 0)
        assert child.null_count == int((types != kind).sum())


def test_custom_proportions():
    g = NexmarkGenerator(NexmarkConfig(person_proportion=2, auction_proportion=6, bid_proportion=42))
    types = g.batch(0, 5000).column("event_type").to_numpy()
    assert np.bincount(types).tolist() == [200, 600, 4200]


def test_ids_and_ranges(gen):
    batch = gen.batch(0, 50_000)
    person = batch.column("person").drop_null()
    auction = batch.column("auction").drop_null()
    bid = batch.column("bid").drop_null()
    person_ids = pc.struct_field(person, "id").to_numpy()
    auction_ids = pc.struct_field(auction, "id").to_numpy()
    assert person_ids.tolist() == list(range(1000, 1000 + len(person_ids)))
    assert auction_ids.tolist() == list(range(1000, 1000 + len(auction_ids)))
    bidders = pc.struct_field(bid, "bidder").to_numpy()
    bid_auctions = pc.struct_field(bid, "auction").to_numpy()
    assert bidders.min() >= 1000 and bidders.max() < 1000 + len(person_ids) + 10
    assert bid_auctions.min() >= 1000 and bid_auctions.max() < 1000 + len(auction_ids) + 10
    sellers = pc.struct_field(auction, "seller").to_numpy()
    assert sellers.min() >= 1000 and sellers.max() < 1000 + len(person_ids) + 10
    categories = pc.struct_field(auction, "category").to_numpy()
    assert set(categories.tolist()) == {10, 11, 12, 13, 14}
    # hot auctions: about half of the bids go to the first auction of a batch of 100
    hot_share = np.mean((bid_auctions - 1000) % 100 == 0)
    assert 0.4 < hot_share < 0.65
    prices = pc.struct_field(bid, "price").to_numpy()
    assert prices.min() >= 100 and prices.max() <= 100_000_000
    reserve = pc.struct_field(auction, "reserve").to_numpy()
    initial = pc.struct_field(auction, "initialBid").to_numpy()
    assert (reserve > initial).all()
    channels = set(pc.struct_field(bid, "channel").to_pylist())
    assert {"Google", "Facebook", "Baidu", "Apple"} <= channels
    urls = pc.struct_field(bid, "url")
    assert pc.all(pc.starts_with(urls, "https://www.nexmark.com/")).as_py()
    assert pc.any(pc.match_substring(urls, "&channel_id=")).as_py()
    cities = set(pc.struct_field(person, "city").to_pylist())
    assert cities <= {
        "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond",
        "Seattle", "Kent", "Cheyenne",
    }
    assert set(pc.struct_field(person, "state").to_pylist()) <= {"AZ", "CA", "ID", "OR", "WA", "WY"}
    emails = pc.struct_field(person, "emailAddress")
    assert pc.all(pc.match_like(emails, "%@%.com")).as_py()


def test_timestamps_monotonic_and_rate():
    g = NexmarkGenerator(NexmarkConfig(first_event_rate=1000, next_event_rate=1000, base_time_ms=0))
    batch = g.batch(0, 5000)
    ts = pc.coalesce(
        *(pc.struct_field(batch.column(c), "dateTime") for c in ("person", "auction", "bid"))
    ).cast(pa.int64()).to_numpy()
    assert (np.diff(ts) >= 0).all()
    assert ts[0] == 0 and ts[1000] == 1000 and ts[4999] == 4999  # 1 ms per event at 1000/s
    expires = pc.struct_field(batch.column("auction"), "expires").drop_null().cast(pa.int64())
    dt = pc.struct_field(batch.column("auction"), "dateTime").drop_null().cast(pa.int64())
    assert pc.all(pc.greater(expires, dt)).as_py()


def test_square_rate_shape():
    g = NexmarkGenerator(
        NexmarkConfig(first_event_rate=1000, next_event_rate=100, rate_period_s=2, base_time_ms=0)
    )
    ts = g.timestamps(np.array([0, 1000, 1100, 1101, 2100]))
    # 1 s at 1000/s (1000 events), then 1 s at 100/s (100 events), then again
    assert ts.tolist() == [0, 1000, 2000, 2001, 3000]
    assert (np.diff(g.timestamps(np.arange(0, 5000))) >= 0).all()


def test_deterministic_across_batch_sizes_and_seeds(gen):
    whole = pa.Table.from_batches([gen.batch(0, 3000)])
    pieces = pa.Table.from_batches([gen.batch(s, 700) for s in range(0, 2800, 700)] + [gen.batch(2800, 200)])
    assert whole.equals(pieces)
    again = NexmarkGenerator(NexmarkConfig(seed=7)).batch(1000, 500)
    assert again.equals(gen.batch(1000, 500))
    other = NexmarkGenerator(NexmarkConfig(seed=8)).batch(1000, 500)
    assert not other.equals(gen.batch(1000, 500))


def test_duckdb_reads_generated_batches(gen):
    data = pa.Table.from_batches([gen.batch(0, 5000)])  # noqa: F841 (read by DuckDB)
    counts = duckdb.sql(
        "SELECT event_type, count(*), count(bid.price), count(person.id) FROM data GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert counts == [(0, 100, 0, 100), (1, 300, 0, 0), (2, 4600, 4600, 0)]


def test_factory_registered_and_validates_options():
    factory = get_factory("nexmark")
    assert isinstance(factory, NexmarkFactory)
    options = factory.validate(_table(**{"events.num": "1000", "first-event.rate": "5000"}))
    assert options["events.num"] == 1000 and options["first-event.rate"] == 5000
    assert options["bid.proportion"] == 46 and options["rate.period"] == 600_000
    with pytest.raises(ConnectorError, match="events.nums"):
        factory.validate(_table(**{"events.nums": "1"}))
    with pytest.raises(ConnectorError, match="first-event.rate"):
        factory.validate(_table(**{"first-event.rate": "0"}))
    with pytest.raises(ConnectorError, match="person.avg-size"):
        factory.validate(_table(**{"person.avg-size": "lots"}))
    bad_column = TableDefinition(
        ObjectName("c", "d", "t"), (Column("nope", "INT"),), {"connector": "nexmark"}
    )
    with pytest.raises(ConnectorError, match="not a nexmark column"):
        factory.validate(bad_column)


def test_batch_scan_bounded_and_unbounded():
    factory = NexmarkFactory()
    table = _table(**{"events.num": "1234", "batch-size": "500"})
    scan = factory.batch_scan(table, factory.validate(table))
    data = scan.arrow().read_all()
    assert data.num_rows == 1234
    assert data.schema.names == ["event_type", "person", "auction", "bid"]
    table_unbounded = _table()
    with pytest.raises(ConnectorError, match="events.num"):
        factory.batch_scan(table_unbounded, factory.validate(table_unbounded))


def test_reader_shards_cover_every_event_once():
    factory = NexmarkFactory()
    table = _table(**{"events.num": "10000", "batch-size": "1000"})
    options = factory.validate(table)
    reader: NexmarkReader = factory.source_reader(table, options, parallelism=3)
    assert reader.bounded and reader.splits() == ["shard-0-of-3", "shard-1-of-3", "shard-2-of-3"]
    batches = [b for s in reader.splits() for b in reader.read(s) if b is not None]
    got = pa.Table.from_batches(batches)
    assert got.num_rows == 10_000
    scan = factory.batch_scan(table, options).arrow().read_all()
    key = pc.coalesce(
        pc.struct_field(got.column("person"), "id"),
        pc.struct_field(got.column("auction"), "id"),
        pc.multiply(pc.struct_field(got.column("bid"), "price"), -1),
    )
    key_scan = pc.coalesce(
        pc.struct_field(scan.column("person"), "id"),
        pc.struct_field(scan.column("auction"), "id"),
        pc.multiply(pc.struct_field(scan.column("bid"), "price"), -1),
    )
    assert sorted(key.to_pylist()) == sorted(key_scan.to_pylist())


def test_streaming_job_over_nexmark_source():
    """nexmark (parallelism 2) -> collect; the watermark is the DDL's rowtime expression."""
    table = _table(**{"events.num": "20000", "batch-size": "2000"})
    graph = JobGraph(
        "nexmark-collect",
        (
            OperatorSpec(
                "1-source",
                "source",
                {
                    "table": table.to_json(),
                    "watermark": {
                        "expression": "CASE WHEN event_type = 0 THEN person.dateTime "
                        "WHEN event_type = 1 THEN auction.dateTime ELSE bid.dateTime END",
                        "delay_ms": 4000,
                    },
                },
                parallelism=2,
            ),
            OperatorSpec("2-sink", "collect-sink", {"result": "out"}),
        ),
        (Edge("1-source", "2-sink", "rebalance"),),
    )
    result = CollectResult()
    with MiniCluster() as cluster:
        info = cluster.execute(graph, resources={"out": result}, timeout=120)
        assert info.state == "FINISHED"
        assert cluster.metrics(info.job_id)["1-source"].records_out == 20_000
    data = result.table(timeout=10)
    assert data.num_rows == 20_000
    assert np.bincount(data.column("event_type").to_numpy()).tolist() == [400, 1200, 18400]
