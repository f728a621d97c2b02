"""Pure unit tests of the Kafka record codecs: what the sink encodes, the source decodes to
the same rows (json, csv, raw), with the formats' NULL and quoting rules."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from catalog.table import Column
from connectors.base import physical_schema
from connectors.formats.json_format import decode_json_lines, text_lines
from connectors.kafka.csv_records import decode_csv_records
from connectors.kafka.encode import encode
from tests.connectors.conftest import build_table

COLUMNS = [("id", "INT"), ("s", "STRING"), ("ts", "TIMESTAMP(3)"), ("x", "DOUBLE"), ("b", "BOOLEAN")]
ROWS = [
    {"id": 1, "s": 'a,"b"', "ts": datetime(2024, 1, 1, 0, 0, 1, 500000), "x": 1.5, "b": True},
    {"id": None, "s": "", "ts": None, "x": None, "b": None},
    {"id": 3, "s": "ü", "ts": datetime(2024, 2, 29, 23, 59, 59), "x": -0.25, "b": False},
]


def _table():
    t = build_table(COLUMNS, {})
    schema = physical_schema(t)
    return t, schema, pa.Table.from_pylist(ROWS, schema=schema)


@pytest.mark.parametrize("iso", [False, True])
def test_json_round_trip(iso):
    t, schema, data = _table()
    options = {"json.timestamp-format.standard": "ISO-8601" if iso else "SQL"}
    raw = encode(data, t.physical_columns, "json", options)
    assert (b"T00:00:01.500" in raw[0].as_py()) == iso
    decoded = decode_json_lines(text_lines(raw), t.physical_columns, schema, options)
    assert decoded.bad_count == 0 and decoded.values.to_pylist() == ROWS


def test_csv_round_trip_and_null_literal():
    t, schema, data = _table()
    raw = encode(data, t.physical_columns, "csv", {})
    assert raw[0].as_py() == b'1,"a,""b""",2024-01-01 00:00:01.500,1.5,true'
    table, bad, first = decode_csv_records(raw, t.physical_columns, schema, {})
    assert bad is None and first is None and table.to_pylist() == ROWS
    options = {"csv.null-literal": "N/A"}
    raw = encode(data, t.physical_columns, "csv", options)
    assert raw[1].as_py() == b'N/A,"",N/A,N/A,N/A'
    table, bad, _ = decode_csv_records(raw, t.physical_columns, schema, options)
    assert bad is None and table.to_pylist() == ROWS


def test_csv_bad_records_are_flagged_with_reasons():
    cols = [Column("id", "INT"), Column("s", "STRING")]
    schema = pa.schema([("id", pa.int32()), ("s", pa.string())])
    raw = pa.array([b"1,a", b"x,b", b"2", b"3,c,d", b"4,e"])
    table, bad, first = decode_csv_records(raw, cols, schema, {})
    assert bad.to_pylist() == [False, True, True, True, False]
    assert first[0] == 1 and "field 'id' value 'x' does not convert to INT" in first[1]
    assert table.column("id").to_pylist()[0::4] == [1, 4]
    _, _, first = decode_csv_records(raw.slice(2), cols, schema, {})
    assert "too few fields (expected 2, got 1)" in first[1]


def test_raw_round_trip():
    t = build_table([("line", "STRING")], {})
    data = pa.table({"line": ["a", None, "ü"]})
    raw = encode(data, t.physical_columns, "raw", {})
    assert raw.to_pylist() == [b"a", None, "ü".encode()]
