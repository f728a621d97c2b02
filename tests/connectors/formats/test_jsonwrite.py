"""The C JSON row writer (connectors/formats/json_write.py over native/_jsonwrite.c) writes
byte for byte the text of the Arrow-kernel path (connectors/kafka/encode.py ``_json_concat``
with the writer off), on seeded random columns of every supported type with NULLs and edge
values, sliced and chunked; and declines (None) what it cannot write the same way."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from catalog.table import Column
from connectors.formats import json_write
from connectors.kafka import encode as encode_module

pytestmark = pytest.mark.skipif(json_write._native is None, reason="_jsonwrite not built")

TYPES = ["TINYINT", "SMALLINT", "INT", "BIGINT", "BOOLEAN", "DECIMAL(19, 1)", "DECIMAL(23, 3)",
         "DECIMAL(30, 5)", "DECIMAL(38, 6)", "DECIMAL(38, 2)", "TIMESTAMP(0)", "TIMESTAMP(3)",
         "TIMESTAMP(6)", "STRING"]
YEAR_1, YEAR_10000 = -62135596800, 253402300800


def _random(t: pa.DataType, n: int, rng: np.random.Generator) -> pa.Array:
    nulls = rng.random(n) < 0.2
    if pa.types.is_integer(t):
        info = np.iinfo(t.to_pandas_dtype())
        values = rng.integers(info.min, info.max, n, dtype=np.int64, endpoint=True)
        small = rng.random(n) < 0.3
        values[small] = rng.integers(max(info.min, -1000), min(info.max, 1000), int(small.sum()))
        values[:4] = [info.min, info.max, 0, -1][: min(n, 4)]
        return pa.array(values, t, mask=nulls)
    if pa.types.is_boolean(t):
        return pa.array(rng.random(n) < 0.5, t, mask=nulls)
    if pa.types.is_decimal(t):
        out = []
        top = 10**t.precision - 1
        for i in range(n):
            digits = int(rng.integers(1, t.precision + 1))
            v = int(rng.integers(0, 10**min(digits, 18))) * 10**max(0, digits - 18)
            v = min(v, top) * (-1 if rng.random() < 0.5 else 1)
            v = [0, top, -top, 1, -1, 10**t.scale, -(10**t.scale) * 5][i] if i < 7 else v
            out.append(None if nulls[i] and i >= 7 else Decimal(f"{v}e-{t.scale}"))
        return pa.array(out, t)
    if pa.types.is_timestamp(t):
        per_s = {"s": 1, "ms": 10**3, "us": 10**6}[t.unit]
        values = rng.integers(YEAR_1 * per_s, YEAR_10000 * per_s, n, dtype=np.int64)
        near = rng.random(n) < 0.3  # around the epoch (negative too)
        values[near] = rng.integers(-10**6 * per_s, 10**6 * per_s, int(near.sum()))
        whole = rng.random(n) < 0.2  # fractions with trailing zeros, or none
        values[whole] = values[whole] // (per_s // 10 or 1) * (per_s // 10 or 1)
        edges = [YEAR_1 * per_s, YEAR_10000 * per_s - 1, 0, -1, per_s // 2, -per_s * 86400 + 10]
        values[: min(n, len(edges))] = edges[: min(n, len(edges))]
        return pa.array(values, pa.int64(), mask=nulls).cast(t)
    words = ["", "a", "bid", "héllo", "日本", "x y", "/path", "0123456789" * 5]
    return pa.array([None if m else words[int(rng.integers(len(words)))] for m in nulls], t)


def _columns(types: list[str]) -> list[Column]:
    return [Column(f"c{i}", t) for i, t in enumerate(types)]


def _kernels(table: pa.Table, columns: list[Column], monkeypatch) -> pa.Array:
    monkeypatch.setenv("FLOWSQL_JSON_NATIVE", "0")
    try:
        out = encode_module._json_concat(table, columns, {})
    finally:
        monkeypatch.delenv("FLOWSQL_JSON_NATIVE")
    assert out is not None
    return out


def _native(table: pa.Table, columns: list[Column]) -> pa.BinaryArray:
    arrays = [table.column(c.name) for c in columns]
    prefixes = [("{" if i == 0 else ",") + f'"{c.name}":' for i, c in enumerate(columns)] + ["}"]
    out = json_write.json_rows(prefixes, arrays)
    assert out is not None, "the writer declined a batch it takes"
    out.validate(full=True)
    return out


def _table(types: list[str], n: int, rng: np.random.Generator) -> pa.Table:
    from flowsql.types import parse_type, to_arrow

    return pa.table({f"c{i}": _random(to_arrow(parse_type(t)), n, rng) for i, t in enumerate(types)})


@pytest.mark.parametrize("seed", range(4))
def test_every_type_matches_the_kernels(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    table = _table(TYPES, 600, rng)
    columns = _columns(TYPES)
    expected = _kernels(table, columns, monkeypatch)
    assert _native(table, columns).equals(expected)
    assert encode_module._json_concat(table, columns, {}).equals(expected)  # through encode.py


@pytest.mark.parametrize("data_type", TYPES)
def test_each_type_alone_sliced_and_chunked(data_type, monkeypatch):
    rng = np.random.default_rng(hash(data_type) % 2**32)
    table = _table([data_type, "BIGINT"], 300, rng)
    columns = _columns([data_type, "BIGINT"])
    for sliced in (table.slice(0, 1), table.slice(7, 200), table.slice(3), table.slice(299)):
        assert _native(sliced, columns).equals(_kernels(sliced, columns, monkeypatch))
    chunked = pa.concat_tables([table.slice(0, 100), table.slice(101, 50), table.slice(5, 0), table.slice(13)])
    assert chunked.column(0).num_chunks > 1
    assert _native(chunked, columns).equals(_kernels(chunked, columns, monkeypatch))


def test_empty_and_all_null(monkeypatch):
    table = _table(TYPES, 50, np.random.default_rng(9))
    columns = _columns(TYPES)
    empty = table.slice(0, 0)
    assert _native(empty, columns).equals(_kernels(empty, columns, monkeypatch))
    nulls = pa.table({c.name: pa.nulls(5, table.column(c.name).type) for c in columns})
    assert _native(nulls, columns).equals(_kernels(nulls, columns, monkeypatch))
    assert _native(nulls, columns)[0].as_py() == b"{" + b",".join(f'"c{i}":null'.encode() for i in range(len(TYPES))) + b"}"


def test_q1_row_text():
    table = pa.table({
        "c0": pa.array([1000, -7], pa.int64()),
        "c1": pa.array([None, 2**63 - 1], pa.int64()),
        "c2": pa.array([Decimal("908.000"), Decimal("-0.005")], pa.decimal128(23, 3)),
        "c3": pa.array([1_700_000_000_120, -1], pa.timestamp("ms")),
    })
    out = _native(table, _columns(["BIGINT", "BIGINT", "DECIMAL(23, 3)", "TIMESTAMP(3)"]))
    assert out.to_pylist() == [
        b'{"c0":1000,"c1":null,"c2":908.000,"c3":"2023-11-14 22:13:20.12"}',
        b'{"c0":-7,"c1":9223372036854775807,"c2":-0.005,"c3":"1969-12-31 23:59:59.999"}',
    ]


@pytest.mark.parametrize("array", [
    pa.array(['say "hi"'], pa.string()),
    pa.array(["back\\slash"], pa.string()),
    pa.array(["line\nbreak"], pa.string()),
    pa.array(["del\x7f"], pa.string()),
    pa.array([YEAR_1 * 1000 - 1], pa.int64()).cast(pa.timestamp("ms")),
    pa.array([YEAR_10000 * 10**6], pa.int64()).cast(pa.timestamp("us")),
    pa.array([1], pa.timestamp("ns")),
    pa.array([1], pa.timestamp("ms", tz="UTC")),
    pa.array([Decimal("1.5")], pa.decimal128(18, 1)),
    pa.array([Decimal("15")], pa.decimal128(30, 0)),
    pa.array([Decimal("1.5")], pa.decimal128(30, 7)),
    pa.array([1.5], pa.float64()),
    pa.array([1], pa.uint32()),
    pa.array(["a"], pa.large_string()),
])
def test_declines(array):
    assert json_write.json_rows(['{"a":', "}"], [array]) is None


def test_declines_only_for_valid_values():
    # a NULL slot's hidden value does not count: the same escape-needing text behind a NULL
    strings = pa.array(['"', "ok"], pa.string())
    masked = pa.Array.from_buffers(pa.string(), 2, [pa.py_buffer(b"\x02")] + strings.buffers()[1:], null_count=1)
    assert json_write.json_rows(['{"a":', "}"], [masked]).to_pylist() == [b'{"a":null}', b'{"a":"ok"}']


def test_switch_off(monkeypatch):
    monkeypatch.setenv("FLOWSQL_JSON_NATIVE", "0")
    assert json_write.json_rows(['{"a":', "}"], [pa.array([1])]) is None


def test_long_field_names_and_many_columns(monkeypatch):
    types = TYPES * 3
    table = _table(types, 200, np.random.default_rng(11))
    table = table.rename_columns([f"{'x' * 40}_{i}" if i % 2 else f"c{i}" for i in range(len(types))])
    long = [Column(name, t) for name, t in zip(table.column_names, types, strict=True)]
    assert _native(table, long).equals(_kernels(table, long, monkeypatch))


def test_widest_values_fill_the_bound(monkeypatch):
    # every value at its kind's longest text: the output's size bound is exact for them
    n = 1000
    table = pa.table({
        "c0": pa.array([-128] * n, pa.int8()), "c1": pa.array([-32768] * n, pa.int16()),
        "c2": pa.array([-2**31] * n, pa.int32()), "c3": pa.array([-2**63] * n, pa.int64()),
        "c4": pa.array([False] * n, pa.bool_()),
        "c5": pa.array([Decimal(f"-{'9' * 38}e-6")] * n, pa.decimal128(38, 6)),
        "c6": pa.array([YEAR_10000 * 10**6 - 1] * n, pa.int64()).cast(pa.timestamp("us")),
    })
    columns = _columns(["TINYINT", "SMALLINT", "INT", "BIGINT", "BOOLEAN", "DECIMAL(38, 6)", "TIMESTAMP(6)"])
    out = _native(table, columns)
    assert out.equals(_kernels(table, columns, monkeypatch))
    assert b'"c5":-' + b"9" * 32 + b"." + b"9" * 6 in out[0].as_py()


def test_seconds_unit_as_arrow_casts_it():
    # (TIMESTAMP(0) is declared as milliseconds, so the Kafka path never sends seconds: the
    # writer's text for them is checked against Arrow's cast directly)
    values = pa.array([0, -1, YEAR_1, YEAR_10000 - 1, 1_700_000_000, None], pa.timestamp("s"))
    out = json_write.json_rows(['{"a":', "}"], [values])
    expected = [b"{\"a\":null}" if v is None else b'{"a":"' + v.encode() + b'"}'
                for v in values.cast(pa.string()).to_pylist()]
    assert out.to_pylist() == expected
