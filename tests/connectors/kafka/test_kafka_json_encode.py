"""The json encoder's Arrow path (connectors/kafka/encode.py, ``_json_concat``) writes exactly
the text of the DuckDB query, on random rows with NULLs and edge values, and leaves every
batch it cannot write the same way to the query. Pure: no broker."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from catalog.table import Column
from connectors.kafka import encode as encode_module
from connectors.kafka.encode import encode
from flowsql.types import parse_type, to_arrow

TYPES = ["TINYINT", "SMALLINT", "INT", "BIGINT", "BOOLEAN", "DECIMAL(23, 3)", "DECIMAL(19, 1)", "DECIMAL(38, 6)",
         "TIMESTAMP(0)", "TIMESTAMP(3)", "TIMESTAMP(6)", "STRING", "VARCHAR(20)"]


def _random(data_type: str, n: int, rng: np.random.Generator) -> pa.Array:
    t = to_arrow(parse_type(data_type))
    nulls = rng.random(n) < 0.2
    if pa.types.is_integer(t):
        info = np.iinfo(t.to_pandas_dtype())
        values = rng.integers(info.min, info.max, n, dtype=np.int64, endpoint=True)
        values[:2] = [info.min, info.max]
        return pa.array(values, t, mask=nulls)
    if pa.types.is_boolean(t):
        return pa.array(rng.random(n) < 0.5, t, mask=nulls)
    if pa.types.is_decimal(t):
        top = 10 ** min(t.precision, 12) - 1
        ints = rng.integers(-top, top, n)
        ints[:3] = [0, -1, 10**t.scale]
        return pa.array([None if m else Decimal(int(v)).scaleb(-t.scale) for v, m in zip(ints, nulls, strict=True)], t)
    if pa.types.is_timestamp(t):
        per_s = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[t.unit]
        lo, hi = (-2208988800, 4102444800) if t.unit == "ns" else (-62135596800, 253402300799)
        values = rng.integers(lo, hi, n) * per_s + rng.integers(0, per_s, n)
        values[:4] = [lo * per_s, hi * per_s, 0, per_s // 2]  # the ends, whole and half seconds
        values[4::7] -= values[4::7] % max(per_s // 10, 1)  # trailing zeros in the fraction
        return pa.array(values, pa.int64(), mask=nulls).cast(t)
    words = ["", "a", "ü/é", "x y", "日本", "{}", "123", "null", "a'b"]
    return pa.array([None if m else words[i % len(words)] * (i % 3)
                     for i, m in enumerate(nulls)], t)


def _query(table, columns, options=None):
    with pytest.MonkeyPatch.context() as m:
        m.setattr(encode_module, "_json_concat", lambda *a: None)
        return encode(table, columns, "json", options or {})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_arrow_path_writes_what_the_query_writes(seed):
    rng = np.random.default_rng(seed)
    n = 500
    columns = [Column(f"c{i}", t) for i, t in enumerate(TYPES)]
    table = pa.table({c.name: _random(c.data_type, n, rng) for c in columns})
    fast = encode_module._json_concat(table, columns, {})
    assert fast is not None
    assert fast.to_pylist() == _query(table, columns).to_pylist()
    assert encode(table, columns, "json", {}).to_pylist() == fast.to_pylist()


@pytest.mark.parametrize("data_type, values", [
    ("STRING", ['a"b']), ("STRING", ["a\\b"]), ("STRING", ["line\nbreak"]), ("STRING", ["\x01"]),
    ("DOUBLE", [1.5]), ("DECIMAL(10, 0)", [Decimal(5)]), ("DECIMAL(5, 2)", [Decimal(0)]),
    ("DECIMAL(38, 10)", [Decimal(0)]), ("TIMESTAMP(9)", [datetime(2024, 1, 1)]), ("DATE", [datetime(2024, 1, 1).date()]),
    ("TIMESTAMP(3)", [datetime(1, 1, 1)]),  # fine; the next one is past year 9999 as int
    ("TIMESTAMP(3) WITH LOCAL TIME ZONE", [datetime(2024, 1, 1)]),
    ("DECIMAL(23, 3)", [Decimal("1.5")]),  # of another Arrow type than declared (below)
])
def test_what_the_arrow_path_refuses_the_query_writes(data_type, values):
    t = to_arrow(parse_type(data_type))
    other = pa.decimal128(10, 1) if data_type == "DECIMAL(23, 3)" else t  # not the declared type
    arr = pa.array(values, other)
    column = Column("v", data_type)
    table = pa.table({"v": arr})
    fast = encode_module._json_concat(table, [column], {})
    if data_type == "TIMESTAMP(3)":
        assert fast is not None
        far = pa.table({"v": pa.array([253402300800000], pa.int64()).cast(t)})
        assert encode_module._json_concat(far, [column], {}) is None
    else:
        assert fast is None
    assert encode(table, [column], "json", {}).to_pylist() == _query(table, [column]).to_pylist()


def test_iso_timestamps_and_odd_field_names_go_to_the_query():
    table = pa.table({"ts": pa.array([0], pa.int64()).cast(pa.timestamp("ms")), "a b": [1]})
    ts, odd = Column("ts", "TIMESTAMP(3)"), Column("a b", "BIGINT")
    iso = {"json.timestamp-format.standard": "ISO-8601"}
    assert encode_module._json_concat(table, [ts], iso) is None
    assert encode(table, [ts], "json", iso).to_pylist() == _query(table, [ts], iso).to_pylist()
    assert encode_module._json_concat(table, [odd], {}) is None
    assert encode(table, [odd], "json", {}).to_pylist() == [b'{"a b":1}']
