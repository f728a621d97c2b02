"""The CSV reader's Arrow fast path gives exactly what the DuckDB query gives, and leaves
every file it cannot read the same way to the query (connectors/formats/csv_format.py)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from catalog.table import Column
from connectors.formats import csv_format
from connectors.formats.csv_format import read_csv
from flowsql.errors import MalformedRecordError

COLUMNS = [Column("a", "BIGINT"), Column("i", "INT"), Column("t", "TINYINT"),
           Column("s", "STRING")]
SCHEMA = pa.schema([("a", pa.int64()), ("i", pa.int32()), ("t", pa.int8()), ("s", pa.string())])


def _both(tmp_path, text: bytes, monkeypatch, options=None, columns=COLUMNS, schema=SCHEMA):
    path = tmp_path / "in.csv"
    path.write_bytes(text)
    options = options or {}
    fast = csv_format._fast_read([str(path)], schema, options)
    with monkeypatch.context() as m:
        m.setattr(csv_format, "_fast_read", lambda *a: None)
        try:
            slow = read_csv([str(path)], columns, schema, options)
        except MalformedRecordError as exc:
            slow = exc
    return fast, slow


ACCEPTED = [
    b"1,2,3,x\n4,5,6,y\n",
    b"1,2,3,x\r\n4,5,6,y\r\n",
    b"1,2,3,x",  # no final newline
    b",,,\n",  # empty: NULL for integers, '' for strings
    b'"","","",""\n',  # quoted empty: the same
    b'-7,8, 9 ,"a, ""quoted"" field"\n',
    b"1,2,3,x\n\n4,5,6,y\n\n",  # empty lines are skipped
    b'007,0,-128," lead and trail "\n',
    b'1,2,3,"two\nlines"\n5,6,7,z\n',
    "1,2,3,ünï©ødé\n".encode(),
    b"\xef\xbb\xbf1,2,3,x\n",  # a byte-order mark
    b"-0,\t4,5\t,\tx\n",  # tabs around numbers, kept in strings
    b"9223372036854775807,-2147483648,127,max\n",
]

REFUSED = [
    b"1,2,3\n",  # too few fields
    b"1,2,3,x,y\n",  # too many fields
    b"1,+2,3,x\n",  # a sign Arrow refuses and the query accepts
    b"1.5,2,3,x\n",  # not an integer
    b"1,2,128,x\n",  # TINYINT overflow
    b"9223372036854775808,2,3,x\n",  # BIGINT overflow
    b"1,2,3,\xff\xfe\n",  # invalid UTF-8
    b"",  # empty file
    b"1,2,3,x\n   \n",  # a blank (not empty) line
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_fast_path_equals_query(tmp_path, monkeypatch, text):
    fast, slow = _both(tmp_path, text, monkeypatch)
    assert fast is not None
    assert fast.schema == slow.schema
    assert fast.to_pylist() == slow.to_pylist()


@pytest.mark.parametrize("text", REFUSED)
def test_fast_path_leaves_refused_files_to_the_query(tmp_path, monkeypatch, text):
    fast, slow = _both(tmp_path, text, monkeypatch)
    assert fast is None
    path = tmp_path / "in.csv"
    try:
        through = read_csv([str(path)], COLUMNS, SCHEMA, {})
    except MalformedRecordError as exc:
        assert isinstance(slow, MalformedRecordError)
        assert str(exc) == str(slow)
    else:
        assert not isinstance(slow, Exception)
        assert through.to_pylist() == slow.to_pylist()


def test_bad_record_still_reported_with_its_line(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(b"1,2,3,x\n4,5,6,y\n7,oops,8,z\n")
    with pytest.raises(MalformedRecordError) as err:
        read_csv([str(path)], COLUMNS, SCHEMA, {})
    assert f"{path}:3" in str(err.value)


def test_ignore_parse_errors_skips_as_before(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(b"1,2,3,x\n4,oops,6,y\n7,8,9,z\n")
    skipped = []
    table = read_csv([str(path)], COLUMNS, SCHEMA, {"csv.ignore-parse-errors": True},
                     on_skipped=skipped.append)
    assert table.column("a").to_pylist() == [1, 7]
    assert skipped == [1]


@pytest.mark.parametrize("options", [
    {"csv.field-delimiter": ";"},
    {"csv.disable-quote-character": True},
    {"csv.quote-character": "'"},
])
def test_dialects(tmp_path, monkeypatch, options):
    d = options.get("csv.field-delimiter", ",")
    text = d.join(["1", "2", "3", "'a''b'"]).encode() + b"\n"
    fast, slow = _both(tmp_path, text, monkeypatch, options)
    assert fast is not None
    assert fast.to_pylist() == slow.to_pylist()


@pytest.mark.parametrize("options,columns", [
    ({"csv.null-literal": "n/a"}, COLUMNS),
    ({"csv.allow-comments": True}, COLUMNS),
    ({"csv.escape-character": "\\"}, COLUMNS),
    ({}, [Column("a", "BIGINT"), Column("d", "DOUBLE")]),
    ({}, [Column("s", "STRING")]),
])
def test_outside_the_fast_path(tmp_path, options, columns):
    schema = pa.schema([(c.name, {"BIGINT": pa.int64(), "INT": pa.int32(), "TINYINT": pa.int8(),
                                  "DOUBLE": pa.float64(), "STRING": pa.string()}[c.data_type]) for c in columns])
    path = tmp_path / "in.csv"
    path.write_bytes(b"1,2\n")
    assert csv_format._fast_read([str(path)], schema, options) is None
