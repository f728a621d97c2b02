"""The avro format's pieces without a broker: Flink's schema mapping, a round trip of every
supported type with NULLs, records written by an independent Avro writer with Flink's schema,
and bad records."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import fastavro
import pyarrow as pa
import pytest

from catalog.table import Column
from connectors.base import columns_schema
from connectors.formats.avro_format import avro_schema, decode_avro, encode_avro
from flowsql.errors import ConnectorError

COLUMNS = [Column("a", "INT NOT NULL"), Column("b", "STRING"), Column("c", "DECIMAL(10, 2)"),
           Column("d", "TIMESTAMP(3)"), Column("e", "DATE"), Column("f", "ARRAY<BIGINT>"),
           Column("g", "MAP<STRING, INT>"), Column("h", "ROW<x INT, y STRING>"),
           Column("i", "TIMESTAMP_LTZ(3)"), Column("j", "BYTES"), Column("k", "DOUBLE"),
           Column("l", "BOOLEAN"), Column("m", "TIME(0)"), Column("n", "TIMESTAMP(6)")]
ROWS = [
    {"a": 1, "b": "x", "c": Decimal("1.25"), "d": dt.datetime(2024, 1, 1, 12, 0, 0, 123000),
     "e": dt.date(2024, 1, 2), "f": [1, 2], "g": [("k", 1)], "h": {"x": 1, "y": "z"},
     "i": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "j": b"\x00\x01", "k": 1.5, "l": True,
     "m": dt.time(1, 2, 3), "n": dt.datetime(2024, 1, 1, 0, 0, 0, 123456)},
    dict.fromkeys("bcdefghijklmn", None) | {"a": 2},
]


def test_schema_is_flinks_mapping():
    schema = avro_schema([Column("id", "BIGINT NOT NULL"), Column("name", "STRING"),
                          Column("r", "ROW<x INT NOT NULL>")])
    assert schema == {"type": "record", "name": "org.apache.flink.avro.generated.record", "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": ["null", "string"], "default": None},
        {"name": "r", "default": None, "type": ["null", {
            "type": "record", "name": "org.apache.flink.avro.generated.record_r",
            "fields": [{"name": "x", "type": "int"}]}]},
    ]}


def test_round_trip_every_type_with_nulls():
    schema = columns_schema(COLUMNS)
    data = pa.Table.from_pylist(ROWS, schema=schema)
    table, bad, first = decode_avro(encode_avro(data, COLUMNS), COLUMNS, schema)
    assert (bad, first) == (None, None)
    assert table.to_pylist() == data.to_pylist()


def test_records_of_an_independent_writer_decode():
    """Written by fastavro's own writer from Flink's schema text, with epoch-millis timestamps."""
    flink_schema = fastavro.parse_schema({
        "type": "record", "name": "org.apache.flink.avro.generated.record", "fields": [
            {"name": "user_id", "type": "long"},
            {"name": "item", "type": ["null", "string"], "default": None},
            {"name": "ts", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}],
             "default": None}]})
    raw = []
    for rec in ({"user_id": 7, "item": "book", "ts": 1704110400123}, {"user_id": 8}):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, flink_schema, rec)
        raw.append(buf.getvalue())
    cols = [Column("user_id", "BIGINT NOT NULL"), Column("item", "STRING"), Column("ts", "TIMESTAMP(3)")]
    table, bad, _ = decode_avro(pa.array(raw, pa.binary()), cols, columns_schema(cols))
    assert bad is None
    assert table.to_pylist() == [
        {"user_id": 7, "item": "book", "ts": dt.datetime(2024, 1, 1, 12, 0, 0, 123000)},
        {"user_id": 8, "item": None, "ts": None}]


def test_bad_records_are_flagged_with_the_first_reason():
    cols = [Column("a", "INT NOT NULL"), Column("b", "STRING")]
    schema = columns_schema(cols)
    good = encode_avro(pa.table({"a": [1], "b": ["x"]}), cols)[0].as_py()
    table, bad, first = decode_avro(pa.array([good, good + b"\x00", b"\x02\x02"], pa.binary()), cols, schema)
    assert bad.to_pylist() == [False, True, True]
    assert first[0] == 1 and "left after the record" in first[1]
    assert table.column("a").to_pylist() == [1, None, None]


def test_unsupported_type_is_named():
    with pytest.raises(ConnectorError, match="STRING map keys"):
        avro_schema([Column("m", "MAP<INT, INT>")])
