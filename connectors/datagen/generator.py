"""Vectorized row generation for the ``datagen`` connector (shared by batch and streaming).

Contract:
- :class:`DatagenGenerator` produces the table's physical columns. Row ``i``'s values depend
  only on ``(seed, column, i)``: rows are generated in chunks of :data:`CHUNK` rows, each chunk
  from its own numpy ``Generator`` seeded with ``(seed, column index, chunk index)``, so
  ``generate(start_row, count)`` returns the same rows however the range is sliced. A source's
  checkpoint position is simply the next row index to emit.
- ``total_rows`` is ``None`` for an unbounded generator; otherwise ``generate`` never goes past
  it. It is ``number-of-rows`` capped by the shortest sequence (Flink: a source with a sequence
  field is bounded and ends when a sequence is exhausted).
- ``random`` fields: integers and floating point uniform in ``[min, max]`` (defaults: the type's
  range); DECIMAL(p, s) uniform then rounded to scale s; BOOLEAN fair coin; strings are
  lowercase hex of ``length`` characters (default 100, capped by VARCHAR(n)/CHAR(n); with
  ``var-len`` a random length in ``[1, length]``); bytes are random bytes likewise; TIMESTAMP /
  TIMESTAMP_LTZ / DATE are ``now - uniform(0, max-past)`` (``now`` fixed when the generator is
  built) unless ``min``/``max`` are given (FlowSQL extension, which makes them reproducible);
  TIME is uniform over the day (or ``[min, max]``). ``null-rate`` nulls that fraction of values.
- ``sequence`` fields: ``start, start+1, ..., end`` for numeric and string types.
- :meth:`DatagenGenerator.project` gives a generator of some of the columns only (the
  streaming source's projection): it skips the other columns' work, and the columns it keeps
  hold the same values as in the whole table (each column draws from its own seed).
- ARRAY / MAP / ROW / MULTISET fields are not supported yet.
- Invalid field options raise ``ConnectorError`` naming the option.
"""

from __future__ import annotations

import copy
import decimal
import re
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import ConnectorError, NotSupportedError
from flowsql.types import FlinkType, parse_type, to_arrow

CHUNK = 8192
DEFAULT_BATCH_ROWS = 65536
DEFAULT_STRING_LENGTH = 100
_INT_TYPES = {
    "TINYINT": np.int8, "SMALLINT": np.int16, "INT": np.int32, "BIGINT": np.int64,
}
_FLOAT_TYPES = {"FLOAT": np.float32, "DOUBLE": np.float64}
_STRINGS = ("VARCHAR", "CHAR")
_BINARIES = ("VARBINARY", "BINARY")
_TEMPORAL = ("DATE", "TIME", "TIMESTAMP", "TIMESTAMP_LTZ")
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# byte b -> its two lowercase hex digits as one little-endian uint16 ("high digit" first)
_HEX_PAIRS = (_HEX[np.arange(256) >> 4].astype(np.uint16)
              | (_HEX[np.arange(256) & 15].astype(np.uint16) << 8))
_MS_PER_DAY = 86_400_000


@dataclass(frozen=True)
class FieldSpec:
    """One generated column and its ``fields.<name>.*`` options (already typed)."""

    name: str
    type: FlinkType
    kind: str = "random"
    min: str | None = None
    max: str | None = None
    max_past_ms: int = 0
    length: int | None = None
    var_len: bool = False
    start: str | None = None
    end: str | None = None
    null_rate: float = 0.0


def _option(field: str, suffix: str) -> str:
    return f"fields.{field}.{suffix}"


def _parse_value(spec: FieldSpec, suffix: str, text: str) -> float | int:
    """A min/max/start/end option as a number on the generator's scale: integers for integer
    types, floats for FLOAT/DOUBLE/DECIMAL, epoch ms for TIMESTAMP, days for DATE, ms of day
    for TIME."""
    root = spec.type.root
    key = _option(spec.name, suffix)
    try:
        if root in _INT_TYPES or root in _STRINGS:
            value: float | int = int(text.strip())
            if root in _INT_TYPES:
                info = np.iinfo(_INT_TYPES[root])
                if not info.min <= value <= info.max:
                    raise ConnectorError(
                        f"Option '{key}' = '{text}' is out of range for {spec.type}"
                    )
            return value
        if root in _FLOAT_TYPES or root == "DECIMAL":
            return float(decimal.Decimal(text.strip()))
        if root in ("TIMESTAMP", "TIMESTAMP_LTZ"):
            iso = text.strip().replace(" ", "T").rstrip("Z")
            return int(np.datetime64(iso, "ms").astype(np.int64))
        if root == "DATE":
            return int(np.datetime64(text.strip(), "D").astype(np.int64))
        if root == "TIME":
            m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?", text.strip())
            if not m:
                raise ValueError(text)
            h, mi, s, frac = m.groups()
            ms = int((frac or "0").ljust(3, "0"))
            return ((int(h) * 60 + int(mi)) * 60 + int(s or 0)) * 1000 + ms
    except (ValueError, ArithmeticError):
        raise ConnectorError(
            f"Invalid value '{text}' for option '{key}': expected a {spec.type} value"
        ) from None
    raise ConnectorError(f"Option '{key}' is not supported for a {spec.type} column")


def _type_range(spec: FieldSpec) -> tuple[float | int, float | int]:
    root = spec.type.root
    if root in _INT_TYPES:
        info = np.iinfo(_INT_TYPES[root])
        return int(info.min), int(info.max)
    if root in _FLOAT_TYPES:
        info_f = np.finfo(_FLOAT_TYPES[root])
        return 0.0, float(info_f.max) / 2  # uniform over [lo, hi] needs hi - lo finite
    if root == "DECIMAL":
        p, s = spec.type.params
        bound = float(10 ** (p - s)) - 10.0 ** (-s)
        return -bound, bound
    if root == "TIME":
        return 0, _MS_PER_DAY - 1
    return 0, 0


class DatagenGenerator:
    """Generates the rows of a datagen table; see the module docstring."""

    def __init__(
        self,
        fields: Sequence[FieldSpec],
        number_of_rows: int | None = None,
        seed: int | None = None,
        rows_per_second: int | None = None,
        now_ms: int | None = None,
    ) -> None:
        self.fields = list(fields)
        self.seed = seed if seed is not None else secrets.randbits(63)
        self.rows_per_second = rows_per_second
        self.now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        self._bounds = [self._validate(f) for f in self.fields]
        lengths = [
            int(b[1]) - int(b[0]) + 1 for f, b in zip(self.fields, self._bounds, strict=True)
            if f.kind == "sequence"
        ]
        candidates = [n for n in [number_of_rows, *lengths] if n is not None]
        self.total_rows: int | None = max(min(candidates), 0) if candidates else None
        self._indices = list(range(len(self.fields)))  # the columns generated (project)
        self.schema = self._schema()
        self._cache: tuple[int, pa.RecordBatch] | None = None

    def _schema(self) -> pa.Schema:
        return pa.schema([pa.field(f.name, to_arrow(f.type), f.type.nullable or f.null_rate > 0)
                          for f in (self.fields[i] for i in self._indices)])

    def project(self, names: Sequence[str]) -> DatagenGenerator:
        """A generator of only the columns ``names`` (in table order), same rows otherwise."""
        wanted = set(names)
        unknown = wanted - {f.name for f in self.fields}
        if unknown:
            raise ConnectorError(f"datagen has no column(s) {', '.join(sorted(unknown))}")
        out = copy.copy(self)
        out._indices = [i for i, f in enumerate(self.fields) if f.name in wanted]
        out.schema = out._schema()
        out._cache = None
        return out

    @property
    def bounded(self) -> bool:
        return self.total_rows is not None

    # -- validation ------------------------------------------------------------------------
    def _validate(self, f: FieldSpec) -> tuple[float | int, float | int]:
        root = f.type.root
        if root in ("ARRAY", "MAP", "ROW", "MULTISET", "NULL"):
            raise NotSupportedError(f"datagen for column '{f.name}' of type {f.type}")
        if not 0.0 <= f.null_rate <= 1.0:
            raise ConnectorError(
                f"Option '{_option(f.name, 'null-rate')}' must be between 0 and 1, got {f.null_rate}"
            )
        if f.length is not None and f.length < 0:
            raise ConnectorError(f"Option '{_option(f.name, 'length')}' must not be negative")
        if f.kind == "sequence":
            if root not in _INT_TYPES and root not in _FLOAT_TYPES and root not in _STRINGS \
                    and root != "DECIMAL":
                raise ConnectorError(
                    f"Option '{_option(f.name, 'kind')}' = 'sequence' is not supported for "
                    f"{f.type}; use 'random'"
                )
            missing = [s for s, v in (("start", f.start), ("end", f.end)) if v is None]
            if missing:
                raise ConnectorError(
                    f"Column '{f.name}' has kind 'sequence' but no "
                    + " and ".join(f"'{_option(f.name, s)}'" for s in missing),
                    hint="A sequence needs both a start and an end value.",
                )
            start = _parse_value(f, "start", f.start)  # type: ignore[arg-type]
            end = _parse_value(f, "end", f.end)  # type: ignore[arg-type]
            if start > end:
                raise ConnectorError(
                    f"Option '{_option(f.name, 'start')}' ({f.start}) is greater than "
                    f"'{_option(f.name, 'end')}' ({f.end})"
                )
            return int(start), int(end)
        lo, hi = _type_range(f)
        if root in ("TIMESTAMP", "TIMESTAMP_LTZ", "DATE") and f.min is None and f.max is None:
            span = f.max_past_ms if root != "DATE" else f.max_past_ms // _MS_PER_DAY
            now = self.now_ms if root != "DATE" else self.now_ms // _MS_PER_DAY
            return now - span, now
        if f.min is not None:
            lo = _parse_value(f, "min", f.min)
        if f.max is not None:
            hi = _parse_value(f, "max", f.max)
        if root in ("TIMESTAMP", "TIMESTAMP_LTZ", "DATE"):
            if f.min is None:
                lo = hi - (f.max_past_ms if root != "DATE" else f.max_past_ms // _MS_PER_DAY)
            if f.max is None:
                hi = max(lo, self.now_ms if root != "DATE" else self.now_ms // _MS_PER_DAY)
        if lo > hi:
            raise ConnectorError(
                f"Option '{_option(f.name, 'min')}' ({f.min if f.min is not None else lo}) is "
                f"greater than '{_option(f.name, 'max')}' ({f.max if f.max is not None else hi})"
            )
        return lo, hi

    # -- generation ------------------------------------------------------------------------
    def generate(self, start_row: int, count: int) -> pa.RecordBatch:
        """Rows ``[start_row, start_row + count)``, cut at ``total_rows``."""
        if self.total_rows is not None:
            count = max(0, min(count, self.total_rows - start_row))
        if count <= 0:
            return pa.RecordBatch.from_pylist([], schema=self.schema)
        first, last = start_row // CHUNK, (start_row + count - 1) // CHUNK
        chunks = [self._chunk(k) for k in range(first, last + 1)]
        table = pa.Table.from_batches(chunks, schema=self.schema)
        return table.slice(start_row - first * CHUNK, count).combine_chunks().to_batches()[0]

    def reader(self, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
        """All rows of a bounded generator, lazily, in batches of ``batch_rows``."""
        if self.total_rows is None:
            raise ConnectorError("an unbounded datagen source cannot be read to its end")
        total = self.total_rows

        def batches() -> Iterator[pa.RecordBatch]:
            for start in range(0, total, batch_rows):
                yield self.generate(start, batch_rows)

        return pa.RecordBatchReader.from_batches(self.schema, batches())

    def _chunk(self, k: int) -> pa.RecordBatch:
        if self._cache is not None and self._cache[0] == k:
            return self._cache[1]
        rows = np.arange(k * CHUNK, (k + 1) * CHUNK, dtype=np.int64)
        arrays = []
        for i in self._indices:
            f, bounds = self.fields[i], self._bounds[i]
            rng = np.random.default_rng([self.seed, i, k])
            arr = self._sequence(f, bounds, rows) if f.kind == "sequence" else self._random(
                f, bounds, rng, CHUNK
            )
            if f.null_rate > 0:
                mask = pa.array(rng.random(CHUNK) < f.null_rate)
                arr = pc.if_else(mask, pa.scalar(None, arr.type), arr)
            arrays.append(arr)
        batch = pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        self._cache = (k, batch)
        return batch

    def _sequence(self, f: FieldSpec, bounds: tuple[Any, Any], rows: np.ndarray) -> pa.Array:
        values = bounds[0] + rows  # past ``end`` only beyond total_rows, which is never emitted
        root = f.type.root
        target = to_arrow(f.type)
        if root in _INT_TYPES:
            info = np.iinfo(_INT_TYPES[root])
            return pa.array(np.clip(values, info.min, info.max).astype(_INT_TYPES[root]))
        if root in _STRINGS:
            return pa.array(values).cast(pa.string())
        if root == "DECIMAL":
            return pa.array(values).cast(target, safe=False)
        return pa.array(values.astype(_FLOAT_TYPES[root]))

    def _random(self, f: FieldSpec, bounds: tuple[Any, Any], rng: np.random.Generator, n: int) -> pa.Array:
        root = f.type.root
        lo, hi = bounds
        target = to_arrow(f.type)
        if root in _INT_TYPES:
            return pa.array(rng.integers(int(lo), int(hi), size=n, endpoint=True, dtype=_INT_TYPES[root]))
        if root in _FLOAT_TYPES:
            return pa.array(rng.uniform(lo, hi, size=n).astype(_FLOAT_TYPES[root]))
        if root == "DECIMAL":
            scale = f.type.params[1]
            values = np.clip(np.round(rng.uniform(lo, hi, size=n), scale), lo, hi)
            return pa.array(values).cast(target, safe=False)
        if root == "BOOLEAN":
            return pa.array(rng.random(n) < 0.5)
        if root in _STRINGS or root in _BINARIES:
            return self._random_strings(f, rng, n, binary=root in _BINARIES)
        if root in ("TIMESTAMP", "TIMESTAMP_LTZ"):
            ms = rng.integers(int(lo), int(hi), size=n, endpoint=True, dtype=np.int64)
            unit_type = pa.timestamp("ms", tz=target.tz)
            return pa.array(ms, unit_type).cast(target)
        if root == "DATE":
            days = rng.integers(int(lo), int(hi), size=n, endpoint=True, dtype=np.int64)
            return pa.array(days.astype(np.int32), pa.date32())
        if root == "TIME":
            ms = rng.integers(int(lo), int(hi), size=n, endpoint=True, dtype=np.int64)
            return pa.array(ms.astype(np.int32), pa.time32("ms")).cast(target)
        raise NotSupportedError(f"datagen for column '{f.name}' of type {f.type}")

    def _random_strings(self, f: FieldSpec, rng: np.random.Generator, n: int, binary: bool) -> pa.Array:
        """Hex strings (or random bytes) built straight into Arrow buffers: no per-row Python."""
        length = f.length if f.length is not None else DEFAULT_STRING_LENGTH
        declared = f.type.params[0] if f.type.params else None
        if declared is not None and declared < length:
            length = declared
        if f.var_len and length > 0:
            lengths = rng.integers(1, length, size=n, endpoint=True, dtype=np.int32)
            offsets = np.zeros(n + 1, dtype=np.int32)
            np.cumsum(lengths, out=offsets[1:])
        else:
            offsets = np.arange(0, (n + 1) * length, max(length, 1), dtype=np.int32)[: n + 1] \
                if length > 0 else np.zeros(n + 1, dtype=np.int32)
        total = int(offsets[-1])
        if binary:
            data = _random_bytes(rng, total)
        else:  # one random byte gives two hex digits (a 256-entry table of digit pairs)
            data = np.take(_HEX_PAIRS, _random_bytes(rng, (total + 1) // 2)).view(np.uint8)[:total]
        kind = pa.binary() if binary else pa.string()
        return pa.Array.from_buffers(
            kind, n, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))]
        )


def _random_bytes(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random bytes, straight from the bit generator's 64-bit output (the fastest bulk
    path numpy has: ``Generator.bytes`` is about twice as slow)."""
    return rng.bit_generator.random_raw((n + 7) // 8).view(np.uint8)[:n]


def fields_from_options(
    columns: Sequence[tuple[str, str]], options: Mapping[str, Any]
) -> list[FieldSpec]:
    """:class:`FieldSpec` per ``(name, type text)`` physical column from validated options."""
    specs = []
    for name, type_text in columns:
        def get(suffix: str, default: Any = None, name: str = name) -> Any:
            value = options.get(_option(name, suffix))
            return default if value is None else value

        specs.append(
            FieldSpec(
                name=name,
                type=parse_type(type_text),
                kind=get("kind", "random"),
                min=get("min"),
                max=get("max"),
                max_past_ms=get("max-past", 0),
                length=get("length"),
                var_len=get("var-len", False),
                start=get("start"),
                end=get("end"),
                null_rate=get("null-rate", 0.0),
            )
        )
    return specs
