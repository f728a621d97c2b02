"""CAST / TRY_CAST between Flink types, vectorized, with Flink's conversion rules.

Contract:
- :func:`check_cast` validates a conversion at compile time (``ValidationError`` naming
  both types when Flink rejects it, e.g. TIMESTAMP → INT).
- :func:`cast_value` converts one batch's value. ``on_error='raise'`` (CAST) raises
  :class:`ExecutionError` quoting the first value that cannot be converted;
  ``on_error='null'`` (TRY_CAST) yields NULL for it.
- Rules (Flink 1.15+): numeric → integer truncates toward zero; → DECIMAL rounds HALF_UP;
  string → number trims whitespace and accepts a leading sign; BOOLEAN ↔ string uses
  ``TRUE``/``FALSE`` (parsing also accepts t/f, yes/no, y/n, 1/0); TIMESTAMP → STRING prints
  ``yyyy-MM-dd HH:mm:ss.SSS``; VARCHAR(n)/CHAR(n) truncate (CHAR pads); TIMESTAMP_LTZ ↔
  TIMESTAMP converts through the session time zone.
- Values that pass a regex pre-check but still fail Arrow's cast (overflow, 2021-02-30) are
  isolated by :func:`flowsql.expr.kernels.cast_or_bisect`; there is no per-row Python.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import ExecutionError, NotSupportedError, ValidationError
from flowsql.expr import temporal
from flowsql.expr.kernels import Value, as_array, cast_or_bisect, first_true
from flowsql.expr.typing import (
    APPROX_ROOTS,
    arrow_type,
    is_integer,
    is_null,
    is_numeric,
    is_string,
    is_timestamp,
    type_name,
)
from flowsql.types import STRING_MAX, FlinkType

_INT_RE = r"^[+-]?\d+(\.\d*)?$"
_FLOAT_RE = r"^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|NaN|Infinity|Inf)$"
_DEC_RE = r"^(?P<sign>[+-]?)(?P<int>\d*)(?:\.(?P<frac>\d*))?$"
_DATE_RE = r"^\d{4}-\d{1,2}-\d{1,2}$"
_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]


def check_cast(src: FlinkType, dst: FlinkType) -> None:
    """Raise ValidationError when Flink does not allow ``CAST(src AS dst)``."""
    s, d = src.root, dst.root
    if is_null(src) or s == d:
        return
    ok = (
        (is_numeric(src) and (is_numeric(dst) or is_string(dst) or d == "BOOLEAN"))
        or (s == "BOOLEAN" and (is_numeric(dst) or is_string(dst)))
        or (is_string(src) and d not in ("ARRAY", "MAP", "ROW", "MULTISET"))
        or (is_timestamp(src) and (is_timestamp(dst) or d in ("DATE", "TIME") or is_string(dst)))
        or (s == "DATE" and (is_timestamp(dst) or is_string(dst)))
        or (s == "TIME" and (is_string(dst) or d == "TIME"))
        or (s in ("VARBINARY", "BINARY") and (d in ("VARBINARY", "BINARY") or is_string(dst)))
        or (is_string(src) and is_string(dst))
    )
    if not ok:
        raise ValidationError(
            f"cannot cast {type_name(src)} to {type_name(dst)}",
            hint="for epoch numbers use TO_TIMESTAMP_LTZ(n, 0|3); for timestamps to numbers "
            "use UNIX_TIMESTAMP",
        )


def cast_value(
    value: Value, src: FlinkType, dst: FlinkType, *, on_error: str = "raise",
    session_tz: str = "UTC",
) -> Value:
    """Convert ``value`` (of Flink type ``src``) to ``dst``; see the module contract."""
    target = arrow_type(dst)
    if isinstance(value, pa.Scalar):
        if not value.is_valid:
            return pa.scalar(None, target)
        result = cast_value(pa.array([value.as_py()], value.type), src, dst,
                            on_error=on_error, session_tz=session_tz)
        return result[0]
    if is_null(src) or pa.types.is_null(value.type):
        return pa.nulls(len(value), type=target)
    result = _convert(as_array(value), src, dst, target, session_tz)
    if result.type != target:
        result = pc.cast(result, target)
    if result.null_count == value.null_count:
        return result  # NULL stays NULL, so no value failed (the common case: no checks)
    failed = pc.and_(pc.is_valid(value), pc.is_null(result))
    bad = first_true(failed)
    if bad is not None and on_error == "raise":
        raise ExecutionError(
            f"cannot cast '{value[bad].as_py()}' of type {type_name(src)} to {type_name(dst)}",
            hint="use TRY_CAST to get NULL for values that cannot be converted",
        )
    return result


def _convert(arr: pa.Array, src: FlinkType, dst: FlinkType, target: pa.DataType,
             tz: str) -> pa.Array:
    s, d = src.root, dst.root
    if is_string(src):
        return _from_string(arr, dst, target, tz)
    if is_string(dst):
        return _to_string(arr, src, dst, tz)
    if is_numeric(src) and is_numeric(dst):
        return _numeric(arr, src, dst, target)
    if s == "BOOLEAN" or d == "BOOLEAN":
        return pc.cast(arr, target)
    if is_timestamp(src) and is_timestamp(dst):
        if s == "TIMESTAMP_LTZ" and d == "TIMESTAMP":
            arr = temporal.to_local(arr, tz)
        elif s == "TIMESTAMP" and d == "TIMESTAMP_LTZ" and tz.upper() != "UTC":
            arr = pc.assume_timezone(arr, timezone=tz, ambiguous="earliest",
                                     nonexistent="earliest")
        return _retime(arr, target)
    if is_timestamp(src) and d == "DATE":
        local = temporal.to_local(arr, tz)
        return pc.cast(pc.floor_temporal(local, unit="day"), pa.date32(), safe=False)
    if is_timestamp(src) and d == "TIME":
        local = temporal.to_local(arr, tz)
        since_midnight = pc.milliseconds_between(pc.floor_temporal(local, unit="day"), local)
        return pc.cast(pc.cast(since_midnight, pa.int32()), pa.time32("ms"))
    if s == "DATE" and is_timestamp(dst):
        out = pc.cast(arr, pa.timestamp("ms"))
        if d == "TIMESTAMP_LTZ" and tz.upper() != "UTC":
            out = pc.assume_timezone(out, timezone=tz)
        return pc.cast(out, target)
    if s == d:
        return pc.cast(arr, target)
    raise NotSupportedError(f"CAST from {type_name(src)} to {type_name(dst)}")


def _retime(arr: pa.Array, target: pa.DataType) -> pa.Array:
    unit_rank = {"s": 0, "ms": 1, "us": 2, "ns": 3}
    if unit_rank[target.unit] < unit_rank[arr.type.unit]:
        unit = {"s": "second", "ms": "millisecond", "us": "microsecond"}[target.unit]
        arr = pc.floor_temporal(arr, unit=unit)
    return pc.cast(arr, target, safe=False)


def _numeric(arr: pa.Array, src: FlinkType, dst: FlinkType, target: pa.DataType) -> pa.Array:
    if is_integer(dst):
        if src.root == "DECIMAL" or src.root in APPROX_ROOTS:
            arr = pc.trunc(arr) if src.root in APPROX_ROOTS else arr
        return pc.cast(arr, target, safe=False)
    if dst.root == "DECIMAL":
        scale = dst.params[1]
        if src.root in APPROX_ROOTS:
            arr = pc.round(arr, ndigits=scale, round_mode="half_towards_infinity")
        elif src.root == "DECIMAL" and src.params[1] > scale:
            arr = pc.round(arr, ndigits=scale, round_mode="half_towards_infinity")
        elif is_integer(src):
            # Arrow casts an integer only to a DECIMAL that holds every value of its type;
            # go through one that does, then narrow (a value that does not fit is NULL)
            arr = pc.cast(arr, pa.decimal128(min(38, 19 + scale), scale))
        return cast_or_bisect(arr, lambda a: pc.cast(a, target), target)
    return pc.cast(arr, target, safe=False)


def _to_string(arr: pa.Array, src: FlinkType, dst: FlinkType, tz: str) -> pa.Array:
    if src.root == "BOOLEAN":
        out = pc.if_else(arr, pa.scalar("TRUE"), pa.scalar("FALSE"))
    elif is_timestamp(src):
        local = temporal.to_local(arr, tz)
        out = pc.cast(local, pa.string())
    elif src.root in APPROX_ROOTS:
        text = pc.cast(arr, pa.string())
        integral = pc.match_substring_regex(text, r"^-?\d+$")
        out = pc.if_else(integral, pc.binary_join_element_wise(text, ".0", ""), text)
    else:
        out = pc.cast(arr, pa.string())
    return _fit_length(out, dst)


def _fit_length(out: pa.Array, dst: FlinkType) -> pa.Array:
    if dst.params and dst.params[0] < STRING_MAX:
        n = dst.params[0]
        out = pc.utf8_slice_codeunits(out, 0, n)
        if dst.root == "CHAR":
            out = pc.utf8_rpad(out, width=n, padding=" ")
    return out


def _from_string(arr: pa.Array, dst: FlinkType, target: pa.DataType, tz: str) -> pa.Array:
    d = dst.root
    if is_string(dst):
        return _fit_length(arr, dst)
    text = pc.utf8_trim_whitespace(arr)
    null_str = pa.scalar(None, pa.string())
    if is_integer(dst):
        ok = pc.match_substring_regex(text, _INT_RE)
        # Flink accepts and truncates a fractional part ('3.5' -> 3)
        text = pc.replace_substring_regex(text, r"^\+|\.\d*$", "")
        text = pc.if_else(ok, text, null_str)
        return cast_or_bisect(text, lambda a: pc.cast(a, target), target)
    if d in APPROX_ROOTS:
        ok = pc.match_substring_regex(text, _FLOAT_RE)
        text = pc.if_else(ok, pc.replace_substring_regex(text, r"^\+", ""), null_str)
        return cast_or_bisect(text, lambda a: pc.cast(a, target), target)
    if d == "DECIMAL":
        return _string_to_decimal(text, dst, target)
    if d == "BOOLEAN":
        low = pc.utf8_lower(text)
        is_true = pc.is_in(low, value_set=pa.array(_TRUE))
        is_false = pc.is_in(low, value_set=pa.array(_FALSE))
        return pc.if_else(is_true, True, pc.if_else(is_false, False, pa.scalar(None, pa.bool_())))
    if d == "DATE":
        ok = pc.match_substring_regex(text, _DATE_RE)
        text = pc.if_else(ok, text, null_str)
        return cast_or_bisect(text, lambda a: pc.cast(a, pa.date32()), pa.date32())
    if is_timestamp(dst):
        parsed = temporal.parse_timestamps(text, None, tz if d == "TIMESTAMP_LTZ" else None)
        return pc.cast(parsed, target)
    if d in ("VARBINARY", "BINARY"):
        return pc.cast(arr, pa.binary())
    raise NotSupportedError(f"CAST from STRING to {type_name(dst)}")


def _string_to_decimal(text: pa.Array, dst: FlinkType, target: pa.DataType) -> pa.Array:
    """Exact decimal parsing with HALF_UP rounding: keep scale+1 fraction digits as text,
    cast to a wide decimal, round to the target scale, then narrow."""
    scale = dst.params[1]
    parts = pc.extract_regex(text, _DEC_RE)
    sign = pc.struct_field(parts, "sign")
    whole = pc.struct_field(parts, "int")
    frac = pc.struct_field(parts, "frac")
    has_digits = pc.or_(pc.greater(pc.utf8_length(whole), 0), pc.greater(pc.utf8_length(frac), 0))
    whole = pc.if_else(pc.equal(pc.utf8_length(whole), 0), "0", whole)
    frac = pc.utf8_slice_codeunits(pc.utf8_rpad(frac, width=scale + 1, padding="0"), 0, scale + 1)
    joined = pc.binary_join_element_wise(sign, whole, ".", frac, "")
    joined = pc.if_else(pc.fill_null(has_digits, False), joined, pa.scalar(None, pa.string()))
    wide = pa.decimal128(38, scale + 1)

    def convert(a: pa.Array) -> pa.Array:
        rounded = pc.round(pc.cast(a, wide), ndigits=scale, round_mode="half_towards_infinity")
        return pc.cast(rounded, target)

    return cast_or_bisect(joined, convert, target)
