"""Flink SQL data types, and their mapping to Arrow and DuckDB types.

Contract:
- :func:`parse_type` reads (a bare ``VARCHAR``/``VARBINARY`` is ``STRING``/``BYTES``, as in Flink SQL DDL)
   a Flink type text (``BIGINT``, ``VARCHAR(10) NOT NULL``,
  ``ROW<a INT, b ARRAY<STRING>>``, ``TIMESTAMP(3) WITH LOCAL TIME ZONE`` ...) into a frozen
  :class:`FlinkType`; ``str(t)`` prints Flink's canonical text, so parse ∘ str is identity.
- :func:`to_arrow` / :func:`to_duckdb` / :func:`from_arrow` map between the three type systems.
  Event-time timestamps with precision ≤ 3 map to ``timestamp[ms]`` (the engine's time unit).

Written by hand (≈150 lines) because no library parses Flink's type grammar; sqlglot's
DataType does not keep Flink's STRING/BYTES/TIMESTAMP_LTZ spellings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow as pa

from flowsql.errors import ValidationError

_ALIASES = {
    "INTEGER": "INT",
    "DEC": "DECIMAL",
    "NUMERIC": "DECIMAL",
    "DOUBLE PRECISION": "DOUBLE",
    "BOOL": "BOOLEAN",
    "REAL": "FLOAT",
}
_SIMPLE = {
    "STRING", "BOOLEAN", "TINYINT", "SMALLINT", "INT", "BIGINT", "FLOAT", "DOUBLE",
    "DATE", "BYTES", "NULL",
}
_PRECISION = {"VARCHAR", "CHAR", "BINARY", "VARBINARY", "DECIMAL", "TIME", "TIMESTAMP", "TIMESTAMP_LTZ"}
STRING_MAX = 2147483647


@dataclass(frozen=True)
class FlinkType:
    """A Flink logical type. ``root`` is canonical upper case (``INT``, ``ROW`` ...)."""

    root: str
    params: tuple[int, ...] = ()
    children: tuple[FlinkType, ...] = ()
    field_names: tuple[str, ...] = ()
    nullable: bool = True
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        r = self.root
        if r == "VARCHAR" and self.params == (STRING_MAX,):
            text = "STRING"
        elif r == "VARBINARY" and self.params == (STRING_MAX,):
            text = "BYTES"
        elif r == "ARRAY":
            text = f"ARRAY<{self.children[0]}>"
        elif r == "MAP":
            text = f"MAP<{self.children[0]}, {self.children[1]}>"
        elif r == "ROW":
            inner = ", ".join(f"`{n}` {t}" for n, t in zip(self.field_names, self.children, strict=True))
            text = f"ROW<{inner}>"
        elif self.params:
            text = f"{r}({', '.join(str(p) for p in self.params)})"
        else:
            text = r
        return text if self.nullable else f"{text} NOT NULL"

    def with_nullable(self, nullable: bool) -> FlinkType:
        return FlinkType(self.root, self.params, self.children, self.field_names, nullable)

    @property
    def is_time_attribute_capable(self) -> bool:
        return self.root in ("TIMESTAMP", "TIMESTAMP_LTZ")

    @property
    def precision(self) -> int | None:
        return self.params[0] if self.params else None


_TOKEN = re.compile(r"\s*(`(?:[^`]|``)*`|[A-Za-z_][A-Za-z_0-9]*|\d+|[<>(),])")


class _TypeParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[str] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m:
                raise ValidationError(f"cannot parse data type '{text}' near '{text[pos:].strip()}'")
            self.tokens.append(m.group(1))
            pos = m.end()
        self.i = 0

    def peek(self, k: int = 0) -> str | None:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok.upper() != expected):
            raise ValidationError(
                f"cannot parse data type '{self.text}': expected {expected or 'more'}, got {tok or 'end'}"
            )
        self.i += 1
        return tok

    def accept(self, word: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.upper() == word:
            self.i += 1
            return True
        return False

    def ints(self) -> tuple[int, ...]:
        if not self.accept("("):
            return ()
        out = [int(self.take())]
        while self.accept(","):
            out.append(int(self.take()))
        self.take(")")
        return tuple(out)

    def parse(self) -> FlinkType:
        t = self.one()
        if self.peek() is not None:
            raise ValidationError(f"cannot parse data type '{self.text}': unexpected '{self.peek()}'")
        return t

    def one(self) -> FlinkType:
        word = self.take().upper()
        if word == "DOUBLE" and self.accept("PRECISION"):
            word = "DOUBLE"
        word = _ALIASES.get(word, word)
        if word in ("CHARACTER",) and self.accept("VARYING"):
            word = "VARCHAR"
        if word == "STRING":
            t = FlinkType("VARCHAR", (STRING_MAX,))
        elif word == "BYTES":
            t = FlinkType("VARBINARY", (STRING_MAX,))
        elif word in ("ARRAY", "MULTISET"):
            if self.accept("<"):
                elem = self.one()
                self.take(">")
            else:
                self.take("(")
                elem = self.one()
                self.take(")")
            t = FlinkType(word, (), (elem,))
        elif word == "MAP":
            close = ">" if self.accept("<") else (self.take("(") and ")")
            k = self.one()
            self.take(",")
            v = self.one()
            self.take(close)
            t = FlinkType("MAP", (), (k, v))
        elif word == "ROW":
            close = ">" if self.accept("<") else (self.take("(") and ")")
            names, kids = [], []
            while not self.accept(close):
                if names:
                    self.take(",")
                name = self.take()
                if name.startswith("`"):
                    name = name[1:-1].replace("``", "`")
                names.append(name)
                kids.append(self.one())
            t = FlinkType("ROW", (), tuple(kids), tuple(names))
        elif word in _PRECISION:
            params = self.ints()
            if word == "TIMESTAMP":
                if self.accept("WITH"):
                    self.take("LOCAL")
                    self.take("TIME")
                    self.take("ZONE")
                    word = "TIMESTAMP_LTZ"
                elif self.accept("WITHOUT"):
                    self.take("TIME")
                    self.take("ZONE")
            if not params:
                params = {
                    "VARCHAR": (STRING_MAX,), "CHAR": (1,), "BINARY": (1,), "VARBINARY": (STRING_MAX,),
                    "DECIMAL": (10, 0), "TIME": (0,), "TIMESTAMP": (6,), "TIMESTAMP_LTZ": (6,),
                }[word]
            elif word == "DECIMAL" and len(params) == 1:
                params = (params[0], 0)
            t = FlinkType(word, params)
        elif word in _SIMPLE:
            t = FlinkType(word)
        else:
            raise ValidationError(
                f"unknown data type '{word}'"
                + (f" in '{self.text}'" if self.text.strip().upper() != word else ""),
                hint="Flink types: STRING, VARCHAR(n), CHAR(n), BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, "
                "FLOAT, DOUBLE, DECIMAL(p, s), DATE, TIME, TIMESTAMP(p), TIMESTAMP_LTZ(p), BYTES, "
                "ARRAY<T>, MAP<K, V>, ROW<...>",
            )
        if self.peek() and self.peek().upper() == "NOT" and (self.peek(1) or "").upper() == "NULL":
            self.i += 2
            t = t.with_nullable(False)
        elif self.peek() and self.peek().upper() == "NULL":
            self.i += 1
        return t


def parse_type(text: str) -> FlinkType:
    """Parse a Flink type text; raises :class:`ValidationError` naming the bad part."""
    return _TypeParser(text).parse()


def _time_unit(precision: int | None) -> str:
    p = 3 if precision is None else precision
    return "s" if p == 0 else "ms" if p <= 3 else "us" if p <= 6 else "ns"


def to_arrow(t: FlinkType) -> pa.DataType:
    """Arrow type for a Flink type."""
    r = t.root
    simple = {
        "BOOLEAN": pa.bool_(), "TINYINT": pa.int8(), "SMALLINT": pa.int16(), "INT": pa.int32(),
        "BIGINT": pa.int64(), "FLOAT": pa.float32(), "DOUBLE": pa.float64(), "DATE": pa.date32(),
        "NULL": pa.null(),
    }
    if r in simple:
        return simple[r]
    if r in ("VARCHAR", "CHAR"):
        return pa.string()
    if r in ("VARBINARY", "BINARY"):
        return pa.binary()
    if r == "DECIMAL":
        return pa.decimal128(t.params[0], t.params[1])
    if r == "TIME":
        return pa.time64("us") if (t.precision or 0) > 3 else pa.time32("ms")
    if r == "TIMESTAMP":
        unit = _time_unit(t.precision)
        return pa.timestamp("ms" if unit == "s" else unit)
    if r == "TIMESTAMP_LTZ":
        unit = _time_unit(t.precision)
        return pa.timestamp("ms" if unit == "s" else unit, tz="UTC")
    if r in ("ARRAY", "MULTISET"):
        return pa.list_(to_arrow(t.children[0]))
    if r == "MAP":
        return pa.map_(to_arrow(t.children[0]), to_arrow(t.children[1]))
    if r == "ROW":
        return pa.struct(
            [pa.field(n, to_arrow(c), c.nullable) for n, c in zip(t.field_names, t.children, strict=True)]
        )
    raise ValidationError(f"type {t} has no Arrow mapping")


def to_duckdb(t: FlinkType) -> str:
    """DuckDB type text for a Flink type."""
    r = t.root
    simple = {
        "BOOLEAN": "BOOLEAN", "TINYINT": "TINYINT", "SMALLINT": "SMALLINT", "INT": "INTEGER",
        "BIGINT": "BIGINT", "FLOAT": "FLOAT", "DOUBLE": "DOUBLE", "DATE": "DATE", "TIME": "TIME",
        "VARCHAR": "VARCHAR", "CHAR": "VARCHAR", "VARBINARY": "BLOB", "BINARY": "BLOB", "NULL": "INTEGER",
    }
    if r in simple:
        return simple[r]
    if r == "DECIMAL":
        p, s = t.params
        return f"DECIMAL({min(p, 38)}, {s})"
    if r == "TIMESTAMP":
        return "TIMESTAMP_MS" if (t.precision or 0) <= 3 else "TIMESTAMP"
    if r == "TIMESTAMP_LTZ":
        return "TIMESTAMPTZ"
    if r in ("ARRAY", "MULTISET"):
        return f"{to_duckdb(t.children[0])}[]"
    if r == "MAP":
        return f"MAP({to_duckdb(t.children[0])}, {to_duckdb(t.children[1])})"
    if r == "ROW":
        inner = ", ".join(
            f'"{n}" {to_duckdb(c)}' for n, c in zip(t.field_names, t.children, strict=True)
        )
        return f"STRUCT({inner})"
    raise ValidationError(f"type {t} has no DuckDB mapping")


def from_arrow(dt: pa.DataType, nullable: bool = True) -> FlinkType:
    """Flink type for an Arrow type (used for results computed by DuckDB or pyarrow)."""
    if pa.types.is_boolean(dt):
        t = FlinkType("BOOLEAN")
    elif pa.types.is_int8(dt):
        t = FlinkType("TINYINT")
    elif pa.types.is_int16(dt):
        t = FlinkType("SMALLINT")
    elif pa.types.is_int32(dt) or pa.types.is_uint16(dt) or pa.types.is_uint8(dt):
        t = FlinkType("INT")
    elif pa.types.is_integer(dt):
        t = FlinkType("BIGINT")
    elif pa.types.is_float32(dt):
        t = FlinkType("FLOAT")
    elif pa.types.is_floating(dt):
        t = FlinkType("DOUBLE")
    elif pa.types.is_decimal(dt):
        t = FlinkType("DECIMAL", (dt.precision, dt.scale))
    elif pa.types.is_string(dt) or pa.types.is_large_string(dt) or pa.types.is_string_view(dt):
        t = FlinkType("VARCHAR", (STRING_MAX,))
    elif pa.types.is_binary(dt) or pa.types.is_large_binary(dt):
        t = FlinkType("VARBINARY", (STRING_MAX,))
    elif pa.types.is_date(dt):
        t = FlinkType("DATE")
    elif pa.types.is_time(dt):
        t = FlinkType("TIME", (3 if dt.unit in ("s", "ms") else 6,))
    elif pa.types.is_timestamp(dt):
        p = {"s": 0, "ms": 3, "us": 6, "ns": 9}[dt.unit]
        t = FlinkType("TIMESTAMP_LTZ" if dt.tz else "TIMESTAMP", (p,))
    elif pa.types.is_list(dt) or pa.types.is_large_list(dt):
        t = FlinkType("ARRAY", (), (from_arrow(dt.value_type),))
    elif pa.types.is_map(dt):
        t = FlinkType("MAP", (), (from_arrow(dt.key_type), from_arrow(dt.item_type)))
    elif pa.types.is_struct(dt):
        fields = [dt.field(i) for i in range(dt.num_fields)]
        t = FlinkType(
            "ROW", (), tuple(from_arrow(f.type, f.nullable) for f in fields), tuple(f.name for f in fields)
        )
    elif pa.types.is_null(dt):
        t = FlinkType("NULL")
    else:
        raise ValidationError(f"Arrow type {dt} has no Flink mapping")
    return t if nullable else t.with_nullable(False)
