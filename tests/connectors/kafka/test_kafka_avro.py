"""The ``avro`` format on the real broker: the kafka sink writes Avro keys and values that the
kafka source reads back (and an independent Avro reader decodes), upsert-kafka with Avro keys
and values keeps tombstones, and a bad record fails naming topic, partition and offset."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import fastavro
import pytest

from connectors.formats.avro_format import avro_schema
from flowsql.errors import FlowSQLError
from tests.connectors.kafka.kafka_util import produce, read_topic


def _create(session, name: str, columns: str, connector: str, **options: str) -> None:
    opts = {"connector": connector, "scan.bounded.mode": "latest-offset", **options}
    if connector == "kafka":
        opts["scan.startup.mode"] = "earliest-offset"
    with_ = ", ".join(f"'{k}' = '{v}'" for k, v in opts.items())
    session.execute_one(f"CREATE TABLE {name} ({columns}) WITH ({with_})")


COLUMNS = "id BIGINT, name STRING, price DECIMAL(10, 2), ts TIMESTAMP(3)"


def test_kafka_sink_and_source_round_trip(session, bootstrap, new_topic):
    topic = new_topic(partitions=2)
    _create(session, "av", COLUMNS, "kafka", topic=topic, format="avro",
            **{"properties.bootstrap.servers": bootstrap, "key.format": "avro", "key.fields": "id"})
    session.execute_one("SET 'table.dml-sync' = 'true'")
    session.execute_one(
        "INSERT INTO av VALUES (1, 'pen', 1.50, TIMESTAMP '2024-01-01 12:00:00.123'), "
        "(2, CAST(NULL AS STRING), CAST(NULL AS DECIMAL(10, 2)), CAST(NULL AS TIMESTAMP(3)))")
    rows = session.execute_one("SELECT * FROM av").table.to_pylist()
    assert sorted(rows, key=lambda r: r["id"]) == [
        {"id": 1, "name": "pen", "price": Decimal("1.50"), "ts": dt.datetime(2024, 1, 1, 12, 0, 0, 123000)},
        {"id": 2, "name": None, "price": None, "ts": None}]
    # an independent reader with Flink's schema decodes the values
    from catalog.table import Column

    schema = fastavro.parse_schema(avro_schema([Column("id", "BIGINT"), Column("name", "STRING"),
                                                Column("price", "DECIMAL(10, 2)"),
                                                Column("ts", "TIMESTAMP(3)")]))
    values = sorted((fastavro.schemaless_reader(io.BytesIO(m.value()), schema, schema)
                     for m in read_topic(bootstrap, topic)), key=lambda r: r["id"])
    assert values[0]["name"] == "pen" and values[0]["ts"] == dt.datetime(2024, 1, 1, 12, 0, 0, 123000,
                                                                          tzinfo=dt.UTC)


def test_upsert_kafka_with_avro(session, bootstrap, new_topic):
    out = new_topic()
    opts = {"properties.bootstrap.servers": bootstrap, "key.format": "avro", "value.format": "avro"}
    _create(session, "u", "k INT, v STRING, PRIMARY KEY (k) NOT ENFORCED", "upsert-kafka", topic=out, **opts)
    src = new_topic()
    from catalog.table import Column

    key_schema = fastavro.parse_schema(avro_schema([Column("k", "INT NOT NULL")]))
    value_schema = fastavro.parse_schema(avro_schema([Column("k", "INT NOT NULL"), Column("v", "STRING")]))

    def enc(schema, rec):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, schema, rec)
        return buf.getvalue()

    produce(bootstrap, src, [
        {"key": enc(key_schema, {"k": 1}), "value": enc(value_schema, {"k": 1, "v": "a"})},
        {"key": enc(key_schema, {"k": 2}), "value": enc(value_schema, {"k": 2, "v": "b"})},
        {"key": enc(key_schema, {"k": 1}), "value": None},
    ])
    _create(session, "s", "k INT NOT NULL, v STRING, PRIMARY KEY (k) NOT ENFORCED", "upsert-kafka",
            topic=src, **opts)
    session.execute_one("SET 'table.dml-sync' = 'true'")
    session.execute_one("INSERT INTO u SELECT k, v FROM s")
    last = {}
    for m in read_topic(bootstrap, out):
        last[fastavro.schemaless_reader(io.BytesIO(m.key()), key_schema, key_schema)["k"]] = m.value()
    assert last[1] is None  # tombstone
    assert fastavro.schemaless_reader(io.BytesIO(last[2]), value_schema, value_schema) == {"k": 2, "v": "b"}
    assert session.execute_one("SELECT * FROM u").table.to_pylist() == [{"k": 2, "v": "b"}]


def test_bad_avro_record_names_topic_partition_offset(session, bootstrap, new_topic):
    topic = new_topic()
    produce(bootstrap, topic, [b"\x02", b"\x04\x02\x06abc", b"\x02\x02\x7f"])
    _create(session, "bad", "a INT NOT NULL, s STRING", "kafka", topic=topic, format="avro",
            **{"properties.bootstrap.servers": bootstrap})
    with pytest.raises(FlowSQLError) as e:
        session.execute_one("SELECT * FROM bad")
    assert f"topic '{topic}', partition 0, offset 0" in str(e.value)


def test_unsupported_encoding_and_type_fail_at_planning(session, bootstrap):
    _create(session, "j", "a INT", "kafka", topic="x", format="avro",
            **{"properties.bootstrap.servers": bootstrap, "avro.encoding": "json"})
    with pytest.raises(FlowSQLError, match="avro.encoding"):
        session.execute_one("SELECT * FROM j")
    _create(session, "m", "a MAP<INT, INT>", "kafka", topic="x", format="avro",
            **{"properties.bootstrap.servers": bootstrap})
    with pytest.raises(FlowSQLError, match="STRING map keys"):
        session.execute_one("SELECT * FROM m")


def test_avro_confluent_value_through_the_broker(session, bootstrap, new_topic):
    """upsert-kafka with avro-confluent values against the registry stand-in: the sink registers
    '<topic>-value', tombstones stay NULL, the source reads it back; a message that is not in
    the wire format fails naming its offset."""
    from tests.connectors.formats.schema_registry_double import SchemaRegistryDouble

    with SchemaRegistryDouble() as registry:
        out = new_topic()
        opts = {"properties.bootstrap.servers": bootstrap, "key.format": "json",
                "value.format": "avro-confluent", "avro-confluent.url": registry.url}
        _create(session, "cu", "k INT NOT NULL, v STRING, PRIMARY KEY (k) NOT ENFORCED", "upsert-kafka",
                topic=out, **opts)
        session.execute_one("SET 'table.dml-sync' = 'true'")
        session.execute_one("INSERT INTO cu VALUES (1, 'a'), (2, 'b')")
        assert list(registry.subjects) == [f"{out}-value"]
        assert all(m.value()[0] == 0 for m in read_topic(bootstrap, out))
        assert sorted(session.execute_one("SELECT * FROM cu").table.to_pylist(), key=lambda r: r["k"]) == [
            {"k": 1, "v": "a"}, {"k": 2, "v": "b"}]
        produce(bootstrap, out, [{"key": b'{"k": 3}', "value": b"plain text"}])
        with pytest.raises(FlowSQLError) as e:
            session.execute_one("SELECT * FROM cu")
        assert f"topic '{out}', partition 0, offset 2" in str(e.value)
        assert "wire format" in str(e.value)
