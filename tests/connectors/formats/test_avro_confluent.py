"""The avro-confluent format against a wire-compatible Schema Registry stand-in (no real
registry can run here): a round trip through the registry, records of another producer's
schema (extra and missing fields), HTTP Basic auth, and bad records / registry errors."""

from __future__ import annotations

import io
import json

import fastavro
import pyarrow as pa
import pytest

from catalog.table import Column
from connectors.base import columns_schema
from connectors.formats.avro_confluent import decode_confluent, encode_confluent
from flowsql.errors import ConnectorError
from tests.connectors.formats.schema_registry_double import SchemaRegistryDouble

COLUMNS = [Column("id", "BIGINT NOT NULL"), Column("name", "STRING"), Column("score", "DOUBLE")]
SCHEMA = columns_schema(COLUMNS)


@pytest.fixture
def registry():
    with SchemaRegistryDouble() as r:
        yield r


def _options(registry, **more) -> dict:
    return {"avro-confluent.url": registry.url, "avro-confluent.subject": "users-value", **more}


def test_round_trip_registers_the_schema_once(registry):
    data = pa.table({"id": [1, 2], "name": ["a", None], "score": [1.5, None]}, schema=SCHEMA)
    opts = _options(registry)
    raw = encode_confluent(data, COLUMNS, opts)
    raw2 = encode_confluent(data, COLUMNS, opts)
    assert raw.to_pylist() == raw2.to_pylist() and len(registry.schemas) == 1
    first = raw[0].as_py()
    assert first[0] == 0 and int.from_bytes(first[1:5], "big") == registry.base
    assert json.loads(registry.schemas[0])["name"] == "org.apache.flink.avro.generated.record"
    table, bad, err = decode_confluent(raw, COLUMNS, SCHEMA, opts)
    assert (bad, err) == (None, None) and table.to_pylist() == data.to_pylist()


def test_records_of_another_producers_schema(registry):
    """Fields by name: an extra field is ignored, a missing one is NULL."""
    theirs = {"type": "record", "name": "User", "namespace": "com.example", "fields": [
        {"name": "id", "type": "long"}, {"name": "name", "type": "string"},
        {"name": "email", "type": "string"}]}
    sid = registry.register("users-value", theirs)
    buf = io.BytesIO()
    buf.write(bytes([0]) + sid.to_bytes(4, "big"))
    fastavro.schemaless_writer(buf, fastavro.parse_schema(theirs), {"id": 7, "name": "x", "email": "e"})
    table, bad, _ = decode_confluent(pa.array([buf.getvalue()], pa.binary()), COLUMNS, SCHEMA, _options(registry))
    assert bad is None and table.to_pylist() == [{"id": 7, "name": "x", "score": None}]


def test_basic_auth():
    with SchemaRegistryDouble(user_info="u:p") as registry:
        data = pa.table({"id": [1], "name": ["a"], "score": [2.0]}, schema=SCHEMA)
        with pytest.raises(ConnectorError, match="HTTP 401"):
            encode_confluent(data, COLUMNS, _options(registry))
        raw = encode_confluent(data, COLUMNS, _options(registry, **{"avro-confluent.basic-auth.user-info": "u:p"}))
        assert len(raw) == 1


def test_bad_records_and_unknown_ids(registry):
    opts = _options(registry)
    good = encode_confluent(pa.table({"id": [1], "name": ["a"], "score": [1.0]}, schema=SCHEMA), COLUMNS, opts)[0].as_py()
    table, bad, first = decode_confluent(pa.array([good, b"\x01\x00\x00\x00\x01xx", good[:6]], pa.binary()),
                                         COLUMNS, SCHEMA, opts)
    assert bad.to_pylist() == [False, True, True]
    assert first[0] == 1 and "wire format" in first[1]
    with pytest.raises(ConnectorError, match="HTTP 404"):
        unknown = (registry.base + 99).to_bytes(4, "big")
        decode_confluent(pa.array([b"\x00" + unknown + good[5:]], pa.binary()), COLUMNS, SCHEMA, opts)


def test_registry_down_is_a_clear_error():
    with SchemaRegistryDouble() as registry:
        url = registry.url
    with pytest.raises(ConnectorError, match="did not answer"):
        encode_confluent(pa.table({"id": [1], "name": ["a"], "score": [1.0]}, schema=SCHEMA), COLUMNS,
                         {"avro-confluent.url": url, "avro-confluent.subject": "s"})
