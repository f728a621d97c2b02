"""The C JSON scanner (connectors/formats/json_scan.py) against the two slower paths it stands
in front of: on seeded random records (every fast type, NULLs, missing and nested extra
fields, escapes, non-ASCII and surrogates, extreme integers, floats in many notations,
whitespace, duplicates, malformed records) every record the scanner takes gives exactly
(bit for bit) what Arrow's reader path and the DuckDB path give, and every record that one
of those paths treats differently is declined (None: the caller falls back)."""

from __future__ import annotations

import json
import random
import struct

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from catalog.table import Column
from connectors.formats import json_format, json_scan
from connectors.formats.json_format import decode_joined_json, decode_json_lines, decode_json_values

pytestmark = pytest.mark.skipif(not json_scan.available(), reason="the scanner is not built")

COLUMNS = [Column("t", "TINYINT"), Column("sm", "SMALLINT"), Column("i", "INT"),
           Column("b", "BIGINT"), Column("f", "FLOAT"), Column("d", "DOUBLE"),
           Column("ok", "BOOLEAN"), Column("s", "STRING"), Column("prïs", "VARCHAR")]
SCHEMA = pa.schema([("t", pa.int8()), ("sm", pa.int16()), ("i", pa.int32()), ("b", pa.int64()),
                    ("f", pa.float32()), ("d", pa.float64()), ("ok", pa.bool_()),
                    ("s", pa.string()), ("prïs", pa.string())])
RANGES = {"t": 8, "sm": 16, "i": 32, "b": 64}


# -- random records -------------------------------------------------------------------------

def _ws(r: random.Random) -> str:
    return r.choice(["", "", "", " ", "  ", "\t", "\r", " \r\t "])


def _int_text(r: random.Random, bits: int) -> str:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    choice = r.random()
    if choice < 0.7:
        return str(r.randint(lo, hi))
    if choice < 0.95:
        return str(r.choice([lo, hi, 0, -1, 1]))
    return r.choice([str(lo - 1), str(hi + 1), "-0", "1.0", "1e2", "0.5", '"1"', "true",
                     "18446744073709551616", "-9223372036854775809", "00", "01", "-"])


def _float_text(r: random.Random, single: bool) -> str:
    choice = r.random()
    if choice < 0.25:
        x = r.uniform(-1e6, 1e6)
        return repr(float(np.float32(x))) if single else repr(x)
    if choice < 0.4:
        return repr(struct.unpack("<d", struct.pack("<Q", r.getrandbits(64)))[0])
    if choice < 0.55:
        return str(r.randint(-10**20, 10**20))
    if choice < 0.9:
        mant = "".join(r.choice("0123456789") for _ in range(r.randint(1, 25)))
        mant = mant.lstrip("0") or "0"
        frac = "".join(r.choice("0123456789") for _ in range(r.randint(1, 30)))
        sign = r.choice(["", "-"])
        exp = r.choice(["", f"e{r.randint(-40, 40)}", f"E+{r.randint(0, 320)}",
                        f"e-{r.randint(0, 330)}"])
        return f"{sign}{mant}.{frac}{exp}" if r.random() < 0.7 else f"{sign}{mant}{exp}"
    return r.choice(["-0", "-0.0", "0e0", "0E-5", "1e-300", "1e-320", "4.9e-324", "1e308",
                     "1.7976931348623157e308", "1.7976931348623159e308", "1e309", "3.4e38",
                     "3.5e38", "1e-40", "1e-46", "NaN", "Infinity", "-Infinity", ".5", "1.",
                     "1e", "+1", '"1.5"', "0.1", "16777217", "9007199254740993",
                     "2.2250738585072011e-308", "1e-400", "0e999", "1" + "0" * 310])


_ESCAPES = ['\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9", "\\u20ac",
            "\\ud83d\\ude00", "\\u0041", "\\u001f"]


def _string_text(r: random.Random) -> str:
    parts = []
    for _ in range(r.randint(0, 8)):
        choice = r.random()
        if choice < 0.4:
            parts.append("".join(r.choice("abcXYZ019 -_:/.{}[],") for _ in range(r.randint(1, 6))))
        elif choice < 0.6:
            parts.append(r.choice(_ESCAPES))
        elif choice < 0.8:
            parts.append(r.choice(["é", "ü", "€", "日本", "😀", "\u0301", "\u007f", "\uffff"]))
        elif choice < 0.81:
            parts.append(r.choice(["\\ud800", "\\udc00", "\\ud83d\\u0041", "\\u0000", "\\x",
                                   "\t", "\x01", "\\u12", "\\U0041"]))
        else:
            parts.append(json.dumps(chr(r.randint(0x20, 0x2FFF)), ensure_ascii=r.random() < 0.5)[1:-1])
    return '"' + "".join(parts) + '"'


def _any_json(r: random.Random, depth: int = 0) -> str:
    choice = r.random()
    if depth > 3 or choice < 0.5:
        return r.choice([_int_text(r, 64), _float_text(r, False), _string_text(r), "true",
                         "false", "null"])
    if choice < 0.75:
        items = [_any_json(r, depth + 1) for _ in range(r.randint(0, 3))]
        return "[" + _ws(r) + ("," + _ws(r)).join(items) + _ws(r) + "]"
    items = [f'"k{r.randint(0, 3)}"{_ws(r)}:{_ws(r)}{_any_json(r, depth + 1)}'
             for _ in range(r.randint(0, 3))]
    return "{" + _ws(r) + ("," + _ws(r)).join(items) + _ws(r) + "}"


def _value_text(r: random.Random, name: str) -> str:
    if r.random() < 0.1:
        return "null"
    if r.random() < 0.01:
        return _any_json(r)  # any JSON value, of the wrong type mostly
    if name in RANGES:
        return _int_text(r, RANGES[name])
    if name in ("f", "d"):
        return _float_text(r, name == "f")
    if name == "ok":
        return r.choice(["true", "false"] * 10 + ["1", '"true"', "tru"])
    return _string_text(r)


def _record(r: random.Random) -> bytes:
    names = [c.name for c in COLUMNS if r.random() < 0.8]
    names += [f"x{k}" for k in range(r.randint(0, 3))]
    if r.random() < 0.02 and names:
        names.append(r.choice(names))  # a duplicate key
    r.shuffle(names)
    members = []
    for name in names:
        value = _any_json(r) if name.startswith("x") else _value_text(r, name)
        key = json.dumps(name, ensure_ascii=r.random() < 0.1)
        members.append(f"{_ws(r)}{key}{_ws(r)}:{_ws(r)}{value}{_ws(r)}")
    text = _ws(r) + "{" + ",".join(members) + ("" if members else _ws(r)) + "}" + _ws(r)
    data = text.encode()
    if r.random() < 0.04:  # malformed in some way
        data = r.choice([
            data[:max(0, len(data) - r.randint(1, 5))], data + b" x", data + b"{}", b"[1]",
            b"", b"  ", b"null", data.replace(b"}", b",}", 1), data + b"\n", b"\n" + data,
            data.replace(b":", b"", 1), data + b"\xff", data.replace(b"\"s\"", b"\"\\u0073\""),
            b'{"s": "\xc3\x28"}', b'{"s": "\xed\xa0\x80"}', b'{"s": "\xf4\x90\x80\x80"}',
            b'{"s": "\xe0\x80\x80"}', data + b"\x0c", b'{"t": 1}' * 2,
        ])
    return data


def _records(seed: int, n: int) -> list[bytes]:
    r = random.Random(seed)
    return [_record(r) for _ in range(n)]


# -- the paths ------------------------------------------------------------------------------

def _arrow_path(records: list[bytes], monkeypatch) -> json_format.DecodedLines | None:
    """Arrow's reader path, as before the scanner (the scanner switched off)."""
    with monkeypatch.context() as m:
        m.setenv("FLOWSQL_JSON_NATIVE", "0")
        return decode_json_values(pa.array(records, pa.binary()), COLUMNS, SCHEMA, {})


def _duckdb_path(records: list[bytes], monkeypatch) -> json_format.DecodedLines:
    lines = json_format.text_lines(pa.array(records, pa.binary()))
    with monkeypatch.context() as m:
        m.setattr(json_format, "_fast_decode", lambda *a: None)
        return decode_json_lines(lines, COLUMNS, SCHEMA, {"json.ignore-parse-errors": True})


def _scan(records: list[bytes], layout: str = "binary") -> pa.Table | None:
    if layout == "joined":
        return json_scan.scan_joined(b"\n".join(records), len(records), SCHEMA)
    arr = pa.array([b"pad"] + records + [b"pad"], getattr(pa, layout)())
    return json_scan.scan_values(arr.slice(1, len(records)), SCHEMA)  # offset != 0


def _bits(col: pa.Array) -> list:
    """Values for comparison: floats by their bit patterns (-0.0 and 0.0 differ)."""
    if pa.types.is_floating(col.type):
        width = "<f" if col.type == pa.float32() else "<d"
        code = "<I" if col.type == pa.float32() else "<Q"
        return [None if v is None else struct.unpack(code, struct.pack(width, v))[0]
                for v in col.to_pylist()]
    return col.to_pylist()


def _same(a: pa.Table, b: pa.Table) -> bool:
    if a.schema != b.schema or a.num_rows != b.num_rows:
        return False
    return all(_bits(a.column(i).combine_chunks()) == _bits(b.column(i).combine_chunks())
               for i in range(a.num_columns))


# -- the tests ------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_each_record_scanned_as_the_slower_paths_read_it(seed, monkeypatch):
    records = _records(seed, 300)
    duck = _duckdb_path(records, monkeypatch)
    taken = 0
    for index, record in enumerate(records):
        scanned = _scan([record])
        arrow = _arrow_path([record], monkeypatch)
        if scanned is None:
            continue
        taken += 1
        if record[:1] == b"{":  # Arrow's reader gets no record opening with whitespace
            assert arrow is not None, record
            assert _same(scanned, arrow.values), record
        assert not duck.bad[index].as_py(), record
        assert _same(scanned, duck.values.slice(index, 1)), record
    assert taken > len(records) // 4  # the generator is not all refusals


@pytest.mark.parametrize("seed", range(3))
def test_batches_and_layouts_agree(seed, monkeypatch):
    r = random.Random(seed)
    records = _records(100 + seed, 400)
    good = [rec for rec in records if _scan([rec]) is not None]
    batch = r.sample(good, len(good))
    whole = _scan(batch)
    assert whole is not None
    for layout in ("large_binary", "string", "large_string", "joined"):
        assert _same(_scan(batch, layout), whole), layout
    arrow = _arrow_path([rec.lstrip(b" \t\r") for rec in batch], monkeypatch)
    assert arrow is not None and _same(whole, arrow.values)
    rows = pa.concat_tables([_scan([rec]) for rec in batch])
    assert _same(whole, rows)
    bad = [rec for rec in records if _scan([rec]) is None]
    if bad:  # one declined record declines the batch
        assert _scan(batch[:5] + bad[:1] + batch[5:]) is None


def test_bid_records_are_taken(monkeypatch):
    r = random.Random(7)
    records = [json.dumps({"seq": i, "auction": r.randint(1000, 2000), "bidder": r.randint(1, 10**6),
                           "price": r.randint(1, 10**7), "channel": f"{r.getrandbits(32):08x}",
                           "url": f"http://x/{r.getrandbits(64):016x}"}).encode()
               for i in range(1000)]
    columns = [Column("seq", "BIGINT"), Column("auction", "BIGINT"), Column("bidder", "BIGINT"),
               Column("price", "BIGINT"), Column("channel", "STRING"), Column("url", "STRING")]
    schema = pa.schema([(c.name, pa.int64() if c.data_type == "BIGINT" else pa.string())
                        for c in columns])
    scanned = json_scan.scan_values(pa.array(records, pa.binary()), schema)
    assert scanned is not None and scanned.to_pylist() == [json.loads(x) for x in records]


@pytest.mark.parametrize("record, expected", [
    (b'{"b": -9223372036854775808, "t": -128, "sm": 32767, "i": -0}',
     {"b": -9223372036854775808, "t": -128, "sm": 32767, "i": 0}),
    (b'{"d": -0.0, "f": 16777218, "s": "\\ud83d\\ude00\\u00e9\\/"}',
     {"d": -0.0, "f": 16777218.0, "s": "😀é/"}),
    (b' \t{ "ok" : true , "x" : [ {"y": [null, 1e5, "\\u0001"]} ] }\r ', {"ok": True}),
    (b'{"d": 123456789012345678901234567890, "f": 0.1}', {"d": 1.2345678901234568e+29,
                                                         "f": float(np.float32(0.1))}),
    (b"{}", {}),
])
def test_examples(record, expected):
    row = _scan([record]).to_pylist()[0]
    assert {k: v for k, v in row.items() if v is not None} == expected


@pytest.mark.parametrize("record", [
    b'{"b": 9223372036854775808}', b'{"t": 128}', b'{"b": 1.0}', b'{"b": 1e2}', b'{"b": "1"}',
    b'{"s": 5}', b'{"ok": 1}', b'{"d": NaN}', b'{"d": 1e400}', b'{"d": 1e-400}', b'{"f": 1e39}',
    b'{"d": 1.7976931348623159e308}', b'{"s": "\\u0000"}', b'{"s": "\\ud800"}',
    b'{"b": 1, "b": null}', b'{"x": 1, "x": 2, "b": 01}', b'{"\\u0062": 1}', b'{"b": 1} x',
    b'{"b": 1}{"b": 2}', b'{"b": 1,}', b'[1]', b'', b' ', b'{"b":\n1}', b'{"s": "\xff"}',
    b'{"x": [' * 70 + b']' * 70 + b'}', b'{"x": NaN}', b'{"x": 1e999}', b'{"s": "a\tb"}',
    b'{"d": -0}', b'{"f": 16777217}', b'{"x": "\\u0000"}', b'null', b'{} null',
])
def test_declined(record, monkeypatch):
    assert _scan([record]) is None
    assert _scan([record], "joined") is None


def test_joined_counts_records():
    one = b'{"b": 1}'
    assert json_scan.scan_joined(one + b"\n" + one + b"\n", 2, SCHEMA) is not None
    assert json_scan.scan_joined(one + b"\n" + one, 2, SCHEMA) is not None
    assert json_scan.scan_joined(one + b"\n" + one, 1, SCHEMA) is None
    assert json_scan.scan_joined(one + b"\n" + one, 3, SCHEMA) is None
    assert json_scan.scan_joined(one + b"\n\n", 2, SCHEMA) is None
    assert json_scan.scan_joined(one + b"\n\n" + one, 2, SCHEMA) is None


def test_the_fast_path_uses_the_scanner_and_falls_back_without_it(monkeypatch):
    records = [b'{"b": 1, "s": "x"}', b'{"b": 2}']
    calls = []
    real = json_scan.scan_values
    monkeypatch.setattr(json_scan, "scan_values", lambda *a: calls.append(1) or real(*a))
    fast = decode_json_values(pa.array(records, pa.binary()), COLUMNS, SCHEMA, {})
    assert calls and fast is not None
    joined = decode_joined_json(b"\n".join(records), 2, COLUMNS, SCHEMA, {})
    monkeypatch.setattr(json_scan, "_native", None)
    assert not json_scan.available()
    arrow = decode_json_values(pa.array(records, pa.binary()), COLUMNS, SCHEMA, {})
    assert _same(fast.values, arrow.values) and _same(joined.values, arrow.values)
    assert pc.all(pc.invert(fast.bad)).as_py()


def _near_float32_midpoints(r: random.Random, count: int) -> list[str]:
    """Decimal texts on, and just beside, the points halfway between adjacent float32 values
    (where rounding the text once, or via a double, can differ)."""
    from decimal import Decimal, getcontext

    getcontext().prec = 80
    texts = []
    for _ in range(count):
        f = np.float32(struct.unpack("<f", struct.pack("<I", r.randint(0x00800000, 0x7F000000)))[0])
        mid = (Decimal(float(f)) + Decimal(float(np.nextafter(f, np.float32(np.inf))))) / 2
        step = Decimal(float(f)) * Decimal(2) ** -r.randint(50, 60)
        value = mid + r.choice([0, 1, -1]) * step
        texts.append(format(value.normalize(), "e") if r.random() < 0.5 else format(value, "f")[:90])
    return texts


def test_float32_near_rounding_midpoints(monkeypatch):
    texts = _near_float32_midpoints(random.Random(3), 300) + ["16777217", "16777219", "0.1"]
    records = [f'{{"f": {t}, "d": {t}}}'.encode() for t in texts]
    duck = _duckdb_path(records, monkeypatch)
    taken = 0
    for index, record in enumerate(records):
        scanned = _scan([record])
        if scanned is None:
            continue
        taken += 1
        arrow = _arrow_path([record], monkeypatch)
        assert arrow is not None and _same(scanned, arrow.values), record
        assert not duck.bad[index].as_py() and _same(scanned, duck.values.slice(index, 1)), record
    assert taken > 0


def _mutated(r: random.Random, record: bytes) -> bytes:
    data = bytearray(record)
    for _ in range(r.randint(1, 3)):
        at = r.randrange(len(data) + 1)
        op = r.random()
        byte = r.choice(b'{}[]",:\\ 0123456789.eE+-tfnaul\x00\x80\xff\xc3\xa9')
        if op < 0.4 and at < len(data):
            data[at] = byte
        elif op < 0.7:
            data.insert(at, byte)
        elif at < len(data):
            del data[at]
    return bytes(data)


@pytest.mark.parametrize("seed", range(2))
def test_mutated_records(seed, monkeypatch):
    """Records with a few bytes changed, inserted or deleted: whatever the scanner takes, the
    slower paths read the same way (and nothing crashes)."""
    r = random.Random(seed)
    records = [_mutated(r, rec) for rec in _records(200 + seed, 600) if rec]
    duck = _duckdb_path(records, monkeypatch)
    for index, record in enumerate(records):
        scanned = _scan([record])
        if scanned is None:
            continue
        if record[:1] == b"{":
            arrow = _arrow_path([record], monkeypatch)
            assert arrow is not None and _same(scanned, arrow.values), record
        assert not duck.bad[index].as_py() and _same(scanned, duck.values.slice(index, 1)), record
