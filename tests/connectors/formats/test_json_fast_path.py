"""The JSON decoder's Arrow fast path gives exactly what the DuckDB path gives, and hands
every batch it cannot convert the same way to the DuckDB path (connectors/formats)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from catalog.table import Column
from connectors.formats import json_format
from connectors.formats.json_format import decode_json_lines

COLUMNS = [Column("a", "BIGINT"), Column("i", "INT"), Column("d", "DOUBLE"),
           Column("b", "BOOLEAN"), Column("s", "STRING")]
SCHEMA = pa.schema([("a", pa.int64()), ("i", pa.int32()), ("d", pa.float64()),
                    ("b", pa.bool_()), ("s", pa.string())])


def _lines(texts: list[str]) -> pa.Table:
    return pa.table({"line": pa.array(texts, pa.large_string()),
                     "utf8_ok": pa.array([True] * len(texts))})


def _both(texts, monkeypatch, options=None):
    options = options or {}
    fast = decode_json_lines(_lines(texts), COLUMNS, SCHEMA, options)
    with monkeypatch.context() as m:
        m.setattr(json_format, "_fast_decode", lambda *a: None)
        slow = decode_json_lines(_lines(texts), COLUMNS, SCHEMA, options)
    return fast, slow


@pytest.mark.parametrize("texts", [
    ['{"a": 1, "i": 2, "d": 3.5, "b": true, "s": "x"}', '{"a": null, "z": [1, {"q": 2}]}',
     '{"d": 4, "s": "ü\\n\\"q\\""}', '{"s": ""}', '{}'],
    ['{"a": 9223372036854775807, "i": -2147483648, "d": -1e300, "b": false}'],
])
def test_the_fast_path_agrees_with_the_query(texts, monkeypatch):
    assert json_format._fast_decode(_lines(texts), COLUMNS, SCHEMA, {}) is not None
    fast, slow = _both(texts, monkeypatch)
    assert fast.values.equals(slow.values) and fast.bad_count == slow.bad_count == 0


@pytest.mark.parametrize("odd", [
    '{"s": 5}', '{"a": "7"}', '{"a": 1.5}', '{"i": 3000000000}', '{"s": {"x": 1}}', '[1]',
    '', 'not json', '{"a": 1, "a": 2}', '{"b": "true"}',
])
def test_what_the_fast_path_refuses_the_query_decides(odd, monkeypatch):
    texts = ['{"a": 1, "s": "ok"}', odd]
    fast, slow = _both(texts, monkeypatch)
    assert fast.values.equals(slow.values)
    assert fast.bad_count == slow.bad_count and fast.first_bad == slow.first_bad


def test_a_record_holding_a_newline_goes_to_the_query(monkeypatch):
    """Two objects in one record and a blank record would give as many rows as records to
    Arrow's reader, each row the wrong record's: the fast path refuses them instead."""
    texts = ['{"a": 1}\n{"a": 2}', '', '{"a": 3}']
    assert json_format._fast_decode(_lines(texts), COLUMNS, SCHEMA, {}) is None
    fast, slow = _both(texts, monkeypatch, {"json.ignore-parse-errors": "true"})
    assert fast.values.equals(slow.values) and fast.bad_count == slow.bad_count == 2


def test_joined_records_that_are_not_utf8_go_to_the_query():
    good = b'{"a": 1, "s": "x"}'
    assert json_format.decode_joined_json(good + b"\n" + good, 2, COLUMNS, SCHEMA, {}) is not None
    bad = b'{"a": 1, "s": "x\xff"}'
    assert json_format.decode_joined_json(good + b"\n" + bad, 2, COLUMNS, SCHEMA, {}) is None
    assert json_format.decode_joined_json(good + b"\n\n" + good, 2, COLUMNS, SCHEMA, {}) is None


@pytest.mark.parametrize("texts", [
    ["null"], ['{"a": 1}', "null"], ['{"a": 1} {"a": 2}', "", '{"a": 3}'], [' {"a": 1}', "[1]"],
])
def test_arrows_reader_gets_only_records_that_open_an_object(texts, monkeypatch):
    """Arrow's reader (the C scanner switched off) gives a row of NULLs for a JSON null, and
    crashed the process on a lone one; a blank record beside a record of two objects gave
    as many rows as records. Records not starting with '{' go to the query instead."""
    monkeypatch.setenv("FLOWSQL_JSON_NATIVE", "0")
    fast, slow = _both(texts, monkeypatch, {"json.ignore-parse-errors": "true"})
    assert fast.values.equals(slow.values) and fast.bad_count == slow.bad_count > 0
