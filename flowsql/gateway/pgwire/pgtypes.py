"""Types on the Postgres wire: Arrow result columns → Postgres types and values, both formats.

Contract:
- :func:`pg_type` maps an Arrow type to ``(oid, typlen)``: bool, int2/int4/int8 (int8 also for
  unsigned 32/64-bit), float4/float8, numeric (decimals), text (strings), bytea, date,
  time, timestamp, timestamptz (a zoned Arrow timestamp); anything else (lists, structs,
  maps, null) is text holding its JSON-ish Python form; lists of integers or strings are
  ``int8[]`` / ``text[]`` (``{1,2}``, binary as array_send).
- :func:`encoder` returns a function value → bytes for a column in text (0) or binary (1)
  format. Binary follows Postgres' ``*send`` functions (big-endian; dates and timestamps
  counted from 2000-01-01; numeric as base-10000 digits). Types without a binary form here
  are sent as text even when binary was asked: only the types above are offered in binary.
- :func:`decode_param` turns a parameter's bytes (text or binary, by its declared oid) into
  a Python value that :mod:`flowsql.gateway.pgwire.params` renders as a SQL literal.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import struct
from collections.abc import Callable

import pyarrow as pa

BOOL, BYTEA, INT8, INT2, INT4, TEXT, OID = 16, 17, 20, 21, 23, 25, 26
FLOAT4, FLOAT8, UNKNOWN, VARCHAR, BPCHAR = 700, 701, 705, 1043, 1042
DATE, TIME, TIMESTAMP, TIMESTAMPTZ, NUMERIC = 1082, 1083, 1114, 1184, 1700
INT8_ARRAY, TEXT_ARRAY, OID_ARRAY = 1016, 1009, 1028
PG_OID_KEY = b"pg_oid"  # Arrow field metadata naming the Postgres type a column is sent as

PG_EPOCH = dt.datetime(2000, 1, 1)
PG_EPOCH_DATE = dt.date(2000, 1, 1)
UTC = dt.UTC

TYPE_NAMES = {BOOL: "bool", BYTEA: "bytea", INT8: "int8", INT2: "int2", INT4: "int4",
              TEXT: "text", OID: "oid", FLOAT4: "float4", FLOAT8: "float8", VARCHAR: "varchar",
              BPCHAR: "bpchar", DATE: "date", TIME: "time", TIMESTAMP: "timestamp",
              TIMESTAMPTZ: "timestamptz", NUMERIC: "numeric", UNKNOWN: "unknown"}


def field_type(f: pa.Field) -> tuple[int, int]:
    """``pg_type`` of a column, unless its metadata names the type (the catalog mirror sends
    its integer lists as ``oid[]``, which drivers decode without asking the catalog)."""
    if f.metadata and PG_OID_KEY in f.metadata:
        return int(f.metadata[PG_OID_KEY]), -1
    return pg_type(f.type)


def pg_type(t: pa.DataType) -> tuple[int, int]:
    if pa.types.is_boolean(t):
        return BOOL, 1
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return INT2, 2
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return INT4, 4
    if pa.types.is_integer(t):
        return INT8, 8
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return FLOAT4, 4
    if pa.types.is_float64(t):
        return FLOAT8, 8
    if pa.types.is_decimal(t):
        return NUMERIC, -1
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return TEXT, -1
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return BYTEA, -1
    if pa.types.is_date(t):
        return DATE, 4
    if pa.types.is_time(t):
        return TIME, 8
    if pa.types.is_timestamp(t):
        return (TIMESTAMPTZ if t.tz else TIMESTAMP), 8
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        if pa.types.is_integer(t.value_type):
            return INT8_ARRAY, -1
        if pa.types.is_string(t.value_type):
            return TEXT_ARRAY, -1
    return TEXT, -1



def _float_text(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(v)


def _ts_text(v: dt.datetime, tz: bool) -> str:
    if tz:
        v = v.astimezone(UTC) if v.tzinfo else v
        return v.replace(tzinfo=None).isoformat(sep=" ") + "+00"
    return v.isoformat(sep=" ")


def _json(v: object) -> str:
    return json.dumps(v, default=str, ensure_ascii=False)


def _array_item(v: object) -> str:
    if v is None:
        return "NULL"
    text = str(v)
    if isinstance(v, str) and (not text or any(c in text for c in ',{}" \\') or text == "NULL"):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _text_encoder(oid: int) -> Callable[[object], bytes]:
    if oid in (INT8_ARRAY, TEXT_ARRAY, OID_ARRAY):
        return lambda v: ("{" + ",".join(_array_item(x) for x in v) + "}").encode("utf-8")
    if oid == BOOL:
        return lambda v: b"t" if v else b"f"
    if oid in (FLOAT4, FLOAT8):
        return lambda v: _float_text(v).encode()
    if oid == BYTEA:
        return lambda v: b"\\x" + bytes(v).hex().encode()
    if oid in (TIMESTAMP, TIMESTAMPTZ):
        tz = oid == TIMESTAMPTZ
        return lambda v: _ts_text(v, tz).encode()
    if oid in (INT2, INT4, INT8, NUMERIC, DATE, TIME):
        return lambda v: str(v).encode()
    return lambda v: (v if isinstance(v, str) else _json(v)).encode("utf-8")


def _numeric_binary(v: decimal.Decimal) -> bytes:
    if not v.is_finite():
        return struct.pack("!hhHH", 0, 0, 0xC000, 0)
    int_s, _, frac_s = format(abs(v), "f").partition(".")
    dscale = len(frac_s)
    int_s = int_s.lstrip("0")
    int_s = "0" * (-len(int_s) % 4) + int_s
    frac_s += "0" * (-len(frac_s) % 4)
    groups = [int(int_s[i:i + 4]) for i in range(0, len(int_s), 4)]
    weight = len(groups) - 1
    groups += [int(frac_s[i:i + 4]) for i in range(0, len(frac_s), 4)]
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    sign = 0x4000 if v.is_signed() and v != 0 else 0
    return struct.pack(f"!hhHH{len(groups)}H", len(groups), weight, sign, dscale, *groups)


def _binary_encoder(oid: int) -> Callable[[object], bytes] | None:
    simple = {BOOL: "!?", INT2: "!h", INT4: "!i", INT8: "!q", FLOAT4: "!f", FLOAT8: "!d",
              OID: "!I"}
    if oid in simple:
        fmt = simple[oid]
        return lambda v: struct.pack(fmt, v)
    if oid == NUMERIC:
        return lambda v: _numeric_binary(decimal.Decimal(v))
    if oid == BYTEA:
        return lambda v: bytes(v)
    if oid == DATE:
        return lambda v: struct.pack("!i", (v - PG_EPOCH_DATE).days)
    if oid in (TIMESTAMP, TIMESTAMPTZ):
        def ts(v: dt.datetime) -> bytes:
            if v.tzinfo is not None:
                v = v.astimezone(UTC).replace(tzinfo=None)
            delta = v - PG_EPOCH
            return struct.pack("!q", (delta.days * 86400 + delta.seconds) * 1_000_000
                               + delta.microseconds)
        return ts
    if oid == TIME:
        return lambda v: struct.pack("!q", ((v.hour * 60 + v.minute) * 60 + v.second)
                                     * 1_000_000 + v.microsecond)
    if oid in (TEXT, VARCHAR):
        return _text_encoder(oid)
    if oid in (INT8_ARRAY, TEXT_ARRAY, OID_ARRAY):
        return _array_binary({INT8_ARRAY: INT8, TEXT_ARRAY: TEXT, OID_ARRAY: OID}[oid])
    return None


def _array_binary(elem: int) -> Callable[[object], bytes]:
    """Postgres' array_send for a one-dimensional array of int8 or text."""
    item = _binary_encoder(elem)
    assert item is not None

    def enc(values) -> bytes:
        values = list(values)
        if not values:
            return struct.pack("!iii", 0, 0, elem)
        out = [struct.pack("!iiiii", 1, int(any(v is None for v in values)), elem,
                           len(values), 1)]
        for v in values:
            if v is None:
                out.append(struct.pack("!i", -1))
            else:
                data = item(v)
                out.append(struct.pack("!i", len(data)) + data)
        return b"".join(out)
    return enc


def encoder(oid: int, fmt: int) -> tuple[Callable[[object], bytes], int]:
    """The encoder for a column and the format code actually used (binary falls back to text
    for types without a binary form here)."""
    if fmt == 1:
        enc = _binary_encoder(oid)
        if enc is not None:
            return enc, 1
    return _text_encoder(oid), 0


# -- parameters ------------------------------------------------------------------------------
def decode_param(oid: int, fmt: int, data: bytes | None) -> object:
    """A parameter value: None, bool, int, float, Decimal, str, bytes, date or datetime.
    Text parameters of a text/unknown type stay ``str`` (typed by context later)."""
    if data is None:
        return None
    if fmt == 1:
        return _decode_binary(oid, data)
    text = data.decode("utf-8")
    if oid == BOOL:
        return text.lower() in ("t", "true", "1", "yes", "on", "y")
    if oid in (INT2, INT4, INT8, OID):
        return int(text)
    if oid in (FLOAT4, FLOAT8):
        return float(text)
    if oid == NUMERIC:
        return decimal.Decimal(text)
    if oid == DATE:
        return dt.date.fromisoformat(text)
    if oid in (TIMESTAMP, TIMESTAMPTZ):
        return dt.datetime.fromisoformat(text.replace(" ", "T"))
    if oid == BYTEA:
        return bytes.fromhex(text[2:]) if text.startswith("\\x") else text.encode()
    return text


ARRAY_ELEMENTS = {1016: INT8, 1007: INT4, 1005: INT2, 1028: OID, 1009: TEXT, 1015: VARCHAR,
                  1000: BOOL, 1022: FLOAT8}


def _decode_array(data: bytes) -> list:
    ndim, _flags, elem = struct.unpack_from("!iii", data)
    if ndim == 0:
        return []
    if ndim != 1:
        raise ValueError("only one-dimensional array parameters are supported")
    count, _lbound = struct.unpack_from("!ii", data, 12)
    pos, out = 20, []
    for _ in range(count):
        (n,) = struct.unpack_from("!i", data, pos)
        pos += 4
        if n < 0:
            out.append(None)
            continue
        out.append(_decode_binary(elem, data[pos:pos + n]))
        pos += n
    return out


def _decode_binary(oid: int, data: bytes) -> object:
    if oid in ARRAY_ELEMENTS:
        return _decode_array(data)
    simple = {BOOL: "!?", INT2: "!h", INT4: "!i", INT8: "!q", OID: "!I", FLOAT4: "!f",
              FLOAT8: "!d"}
    if oid in simple:
        return struct.unpack(simple[oid], data)[0]
    if oid == DATE:
        return PG_EPOCH_DATE + dt.timedelta(days=struct.unpack("!i", data)[0])
    if oid in (TIMESTAMP, TIMESTAMPTZ):
        return PG_EPOCH + dt.timedelta(microseconds=struct.unpack("!q", data)[0])
    if oid == BYTEA:
        return bytes(data)
    if oid == NUMERIC:
        ndigits, weight, sign, dscale = struct.unpack_from("!hhHH", data)
        digits = struct.unpack_from(f"!{ndigits}H", data, 8)
        value = sum(decimal.Decimal(d) * decimal.Decimal(10000) ** (weight - i)
                    for i, d in enumerate(digits))
        value = -value if sign == 0x4000 else value
        return value.quantize(decimal.Decimal(1).scaleb(-dscale)) if dscale else value
    return data.decode("utf-8")
