"""The built-in scalar function table: Flink function name → (arity, kernel, return-type rule).

Contract:
- :data:`FUNCTIONS` maps an upper-case Flink function name to a :class:`FunctionDef`.
  ``returns(call)`` checks the argument types (``ValidationError`` naming the function and
  the offending type) and gives the result :class:`FlinkType`; ``kernel(call, args)`` computes
  the result for one batch from the evaluated arguments (arrays or scalars) with
  ``pyarrow.compute`` only — no per-row Python.
- :class:`Call` carries what a kernel may need besides values: argument types, compile-time
  constant arguments (patterns, widths, formats — a kernel that needs a constant raises
  ``NotSupportedError`` when given a column), the result type and the session time zone.
- String-function kernels live in :mod:`flowsql.expr.strings`, date/time ones in
  :mod:`flowsql.expr.temporal`, JSON_STRING's in :mod:`flowsql.expr.json` (which also
  compiles JSON_VALUE, JSON_QUERY, JSON_EXISTS, IS JSON, JSON_OBJECT and JSON_ARRAY: their
  special syntax parses to their own nodes); operators (+, =, CASE, CAST...) are compiled in
  :mod:`flowsql.expr.compile`, not here.
- :func:`lookup` raises ``ValidationError`` for an unknown name, listing the closest known
  names; :data:`UNSUPPORTED` names known Flink functions that raise ``NotSupportedError``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.expr import strings, temporal
from flowsql.expr.kernels import Value
from flowsql.expr.typing import (
    BIGINT,
    BOOLEAN,
    DATE,
    DOUBLE,
    INT,
    STRING,
    TIMESTAMP3,
    TIMESTAMP_LTZ3,
    adjust_decimal,
    arrow_type,
    common_type,
    is_integer,
    is_null,
    is_numeric,
    is_string,
    is_temporal,
    type_name,
)
from flowsql.types import FlinkType

MISSING: Any = object()


@dataclass
class Call:
    """One call site of a function, as the kernel and the type rule see it."""

    name: str
    arg_types: list[FlinkType]
    constants: list[Any]  # python value of a constant argument, or MISSING
    session_tz: str = "UTC"
    result_type: FlinkType | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    def const(self, i: int, what: str) -> Any:
        """Constant value of argument ``i`` (NotSupportedError when it is not a constant)."""
        if i >= len(self.constants):
            return MISSING
        value = self.constants[i]
        if value is MISSING:
            raise NotSupportedError(f"{self.name} with a non-constant {what}")
        return value

    def const_or(self, i: int, default: Any, what: str) -> Any:
        return default if i >= len(self.constants) else self.const(i, what)


Kernel = Callable[[Call, Sequence[Value]], Value]
ReturnRule = Callable[[Call], FlinkType]


@dataclass(frozen=True)
class FunctionDef:
    name: str
    min_args: int
    max_args: int  # -1: variadic
    kernel: Kernel
    returns: ReturnRule
    deterministic: bool = True


# ---------------------------------------------------------------------------- type rules


def _expect(call: Call, i: int, ok: Callable[[FlinkType], bool], family: str) -> None:
    t = call.arg_types[i]
    if not is_null(t) and not ok(t):
        raise ValidationError(
            f"cannot apply '{call.name}' to an argument of type {type_name(t)} "
            f"(argument {i + 1} must be {family})"
        )


def _strings(*positions: int, result: FlinkType = STRING) -> ReturnRule:
    def rule(call: Call) -> FlinkType:
        for i in positions if positions else range(len(call.arg_types)):
            if i < len(call.arg_types):
                _expect(call, i, is_string, "a string")
        return result

    return rule


def _string_then_ints(result: FlinkType = STRING) -> ReturnRule:
    def rule(call: Call) -> FlinkType:
        _expect(call, 0, is_string, "a string")
        for i in range(1, len(call.arg_types)):
            _expect(call, i, is_integer, "an integer")
        return result

    return rule


def _numeric_same(call: Call) -> FlinkType:
    _expect(call, 0, is_numeric, "numeric")
    return call.arg_types[0] if not is_null(call.arg_types[0]) else INT


def _numeric_double(call: Call) -> FlinkType:
    for i in range(len(call.arg_types)):
        _expect(call, i, is_numeric, "numeric")
    return DOUBLE


def _ceil_floor_type(call: Call) -> FlinkType:
    t = _numeric_same(call)
    if t.root == "DECIMAL" and t.params[1] > 0:
        p, s = t.params
        return adjust_decimal(p - s + 1, 0)
    return t


def _round_type(call: Call) -> FlinkType:
    t = _numeric_same(call)
    if len(call.arg_types) > 1:
        _expect(call, 1, is_integer, "an integer")
    if t.root == "DECIMAL":
        p, s = t.params
        digits = call.const_or(1, 0, "number of decimals")
        if digits >= s:
            return t
        new_scale = max(digits, 0)
        return adjust_decimal(p - s + new_scale + 1, new_scale)
    return t


def _temporal_part(call: Call) -> FlinkType:
    _expect(call, 0, lambda t: is_temporal(t) or is_string(t), "a DATE or TIMESTAMP")
    return BIGINT


def _same_as_common(call: Call) -> FlinkType:
    t = common_type(call.arg_types)
    if t is None:
        raise ValidationError(
            f"{call.name} arguments have no common type: "
            + ", ".join(type_name(a) for a in call.arg_types)
        )
    return t


def _fixed(result: FlinkType) -> ReturnRule:
    return lambda call: result


# ---------------------------------------------------------------------------- kernels


def _math(fn: Callable[[Value], Value]) -> Kernel:
    return lambda call, a: fn(pc.cast(a[0], pa.float64()))


def _abs(call: Call, a: Sequence[Value]) -> Value:
    return pc.abs(a[0])


def _ceil_floor(fn: Callable[[Value], Value]) -> Kernel:
    def kernel(call: Call, a: Sequence[Value]) -> Value:
        t = call.arg_types[0]
        if is_integer(t):
            return a[0]
        out = fn(a[0])
        assert call.result_type is not None
        return pc.cast(out, arrow_type(call.result_type))

    return kernel


def _round(call: Call, a: Sequence[Value]) -> Value:
    digits = call.const_or(1, 0, "number of decimals")
    if digits is None:
        return pa.scalar(None, arrow_type(call.result_type or DOUBLE))
    t = call.arg_types[0]
    if is_integer(t) and digits >= 0:
        return a[0]
    value = a[0] if not is_integer(t) else pc.cast(a[0], pa.float64())
    out = pc.round(value, ndigits=digits, round_mode="half_towards_infinity")
    assert call.result_type is not None
    return pc.cast(out, arrow_type(call.result_type), safe=not is_integer(t))


def _truncate(call: Call, a: Sequence[Value]) -> Value:
    """TRUNCATE(x[, d]): cut (toward zero) to d decimals."""
    digits = call.const_or(1, 0, "number of decimals")
    if digits is None:
        return pa.scalar(None, arrow_type(call.result_type or DOUBLE))
    t = call.arg_types[0]
    if is_integer(t) and digits >= 0:
        return a[0]
    value = a[0] if not is_integer(t) else pc.cast(a[0], pa.float64())
    out = pc.round(value, ndigits=digits, round_mode="towards_zero")
    assert call.result_type is not None
    return pc.cast(out, arrow_type(call.result_type), safe=not is_integer(t))


def _power(call: Call, a: Sequence[Value]) -> Value:
    return pc.power(pc.cast(a[0], pa.float64()), pc.cast(a[1], pa.float64()))


def _log(call: Call, a: Sequence[Value]) -> Value:
    if len(a) == 1:
        return pc.ln(pc.cast(a[0], pa.float64()))
    return pc.logb(pc.cast(a[1], pa.float64()), pc.cast(a[0], pa.float64()))


def _sign(call: Call, a: Sequence[Value]) -> Value:
    return pc.cast(pc.sign(a[0]), arrow_type(call.result_type or INT))


def _coalesce(call: Call, a: Sequence[Value]) -> Value:
    assert call.result_type is not None
    target = arrow_type(call.result_type)
    return pc.coalesce(*[pc.cast(v, target) for v in a])


def _greatest(fn: Callable[..., Value]) -> Kernel:
    def kernel(call: Call, a: Sequence[Value]) -> Value:
        assert call.result_type is not None
        target = arrow_type(call.result_type)
        return fn(*[pc.cast(v, target) for v in a], skip_nulls=False)

    return kernel


def _date_format(call: Call, a: Sequence[Value]) -> Value:
    pattern = call.const_or(1, temporal.DEFAULT_FORMAT, "format")
    ts = a[0]
    if is_string(call.arg_types[0]):
        ts = temporal.parse_timestamps(ts, None)
    return temporal.format_timestamps(ts, pattern, call.session_tz)


def _to_timestamp_ltz(call: Call, a: Sequence[Value]) -> Value:
    precision = call.const_or(1, 3, "precision")
    return temporal.epoch_to_timestamp(a[0], precision)


def _to_timestamp(call: Call, a: Sequence[Value]) -> Value:
    pattern = call.const_or(1, None, "format")
    return temporal.parse_timestamps(a[0], pattern)


def _to_date(call: Call, a: Sequence[Value]) -> Value:
    pattern = call.const_or(1, None, "format")
    return pc.cast(pc.floor_temporal(temporal.parse_timestamps(a[0], pattern), unit="day"),
                   pa.date32(), safe=False)


def _part(unit: str) -> Kernel:
    def kernel(call: Call, a: Sequence[Value]) -> Value:
        value = a[0]
        if is_string(call.arg_types[0]):
            value = temporal.parse_timestamps(value, None)
        return temporal.extract(unit, value, call.session_tz)

    return kernel


def _now(call: Call, a: Sequence[Value]) -> Value:
    return temporal.now_instant()


def _localtimestamp(call: Call, a: Sequence[Value]) -> Value:
    return temporal.to_local(temporal.now_instant(), call.session_tz)


def _current_date(call: Call, a: Sequence[Value]) -> Value:
    local = temporal.to_local(temporal.now_instant(), call.session_tz)
    return pc.cast(pc.floor_temporal(local, unit="day"), pa.date32(), safe=False)


def _unix_timestamp(call: Call, a: Sequence[Value]) -> Value:
    if not a:
        return pc.cast(temporal.timestamp_to_epoch_seconds(temporal.now_instant()), pa.int64())
    pattern = call.const_or(1, temporal.DEFAULT_FORMAT, "format")
    parsed = temporal.parse_timestamps(a[0], pattern, tz=call.session_tz)
    return temporal.timestamp_to_epoch_seconds(parsed)


def _from_unixtime(call: Call, a: Sequence[Value]) -> Value:
    pattern = call.const_or(1, temporal.DEFAULT_FORMAT, "format")
    instant = temporal.epoch_to_timestamp(a[0], 0)
    return temporal.format_timestamps(instant, pattern, call.session_tz)


def _unix_ts_rule(call: Call) -> FlinkType:
    if call.arg_types:
        _expect(call, 0, is_string, "a string")
    return BIGINT


def _temporal_or_string_first(call: Call) -> FlinkType:
    _expect(call, 0, lambda t: is_temporal(t) or is_string(t), "a TIMESTAMP, DATE or string")
    if len(call.arg_types) > 1:
        _expect(call, 1, is_string, "a format string")
    return STRING


def _numeric_first(result: FlinkType) -> ReturnRule:
    def rule(call: Call) -> FlinkType:
        _expect(call, 0, is_numeric, "numeric")
        return result

    return rule


def _strings_then_format(result: FlinkType) -> ReturnRule:
    def rule(call: Call) -> FlinkType:
        for i in range(len(call.arg_types)):
            _expect(call, i, is_string, "a string")
        return result

    return rule


def _sign_rule(call: Call) -> FlinkType:
    return _numeric_same(call)


def _json_string(call: Call, a: Sequence[Value]) -> Value:
    from flowsql.expr.json import json_string  # flowsql.expr.json imports the compiler

    return json_string(call, a)


def _f(name: str, lo: int, hi: int, kernel: Kernel, returns: ReturnRule,
       deterministic: bool = True) -> tuple[str, FunctionDef]:
    return name, FunctionDef(name, lo, hi, kernel, returns, deterministic)


FUNCTIONS: dict[str, FunctionDef] = dict(
    [
        # -- strings
        _f("UPPER", 1, 1, lambda c, a: pc.utf8_upper(a[0]), _strings()),
        _f("LOWER", 1, 1, lambda c, a: pc.utf8_lower(a[0]), _strings()),
        _f("CHAR_LENGTH", 1, 1, strings.char_length, _strings(result=INT)),
        _f("CHARACTER_LENGTH", 1, 1, strings.char_length, _strings(result=INT)),
        _f("LENGTH", 1, 1, strings.char_length, _strings(result=INT)),
        _f("SUBSTRING", 2, 3, strings.substring, _string_then_ints()),
        _f("SUBSTR", 2, 3, strings.substring, _string_then_ints()),
        _f("CONCAT", 1, -1, strings.concat, _strings()),
        _f("CONCAT_WS", 2, -1, strings.concat_ws, _strings()),
        _f("TRIM", 1, 2, strings.trim("both"), _strings()),
        _f("LTRIM", 1, 2, strings.trim("leading"), _strings()),
        _f("RTRIM", 1, 2, strings.trim("trailing"), _strings()),
        _f("REPLACE", 3, 3, strings.replace, _strings()),
        _f("LOCATE", 2, 3, strings.locate, _strings(0, 1, result=INT)),
        _f("POSITION", 2, 2, strings.locate, _strings(0, 1, result=INT)),
        _f("INSTR", 2, 2, strings.instr, _strings(0, 1, result=INT)),
        _f("SPLIT_INDEX", 3, 3, strings.split_index, _strings(0, 1)),
        _f("REGEXP_EXTRACT", 2, 3, strings.regexp_extract, _strings(0, 1)),
        _f("REGEXP_REPLACE", 3, 3, strings.regexp_replace, _strings()),
        _f("REGEXP", 2, 2, strings.regexp, _strings(result=BOOLEAN)),
        _f("LPAD", 3, 3, strings.pad(left=True), _strings(0, 2)),
        _f("RPAD", 3, 3, strings.pad(left=False), _strings(0, 2)),
        _f("INITCAP", 1, 1, lambda c, a: pc.utf8_title(a[0]), _strings()),
        _f("REVERSE", 1, 1, lambda c, a: pc.utf8_reverse(a[0]), _strings()),
        _f("REPEAT", 2, 2, strings.repeat, _string_then_ints()),
        _f("LEFT", 2, 2, strings.left, _string_then_ints()),
        _f("RIGHT", 2, 2, strings.right, _string_then_ints()),
        _f("JSON_STRING", 1, 1, _json_string, _fixed(STRING)),
        # -- conditional
        _f("COALESCE", 1, -1, _coalesce, _same_as_common),
        _f("IFNULL", 2, 2, _coalesce, _same_as_common),
        _f("GREATEST", 1, -1, _greatest(pc.max_element_wise), _same_as_common),
        _f("LEAST", 1, -1, _greatest(pc.min_element_wise), _same_as_common),
        # -- date/time
        _f("DATE_FORMAT", 1, 2, _date_format, _temporal_or_string_first),
        _f("TO_TIMESTAMP_LTZ", 1, 2, _to_timestamp_ltz, _numeric_first(TIMESTAMP_LTZ3)),
        _f("TO_TIMESTAMP", 1, 2, _to_timestamp, _strings_then_format(TIMESTAMP3)),
        _f("TO_DATE", 1, 2, _to_date, _strings_then_format(DATE)),
        _f("YEAR", 1, 1, _part("YEAR"), _temporal_part),
        _f("QUARTER", 1, 1, _part("QUARTER"), _temporal_part),
        _f("MONTH", 1, 1, _part("MONTH"), _temporal_part),
        _f("WEEK", 1, 1, _part("WEEK"), _temporal_part),
        _f("DAYOFYEAR", 1, 1, _part("DOY"), _temporal_part),
        _f("DAYOFMONTH", 1, 1, _part("DAY"), _temporal_part),
        _f("DAYOFWEEK", 1, 1, _part("DOW"), _temporal_part),
        _f("HOUR", 1, 1, _part("HOUR"), _temporal_part),
        _f("MINUTE", 1, 1, _part("MINUTE"), _temporal_part),
        _f("SECOND", 1, 1, _part("SECOND"), _temporal_part),
        _f("CURRENT_TIMESTAMP", 0, 0, _now, _fixed(TIMESTAMP_LTZ3), deterministic=False),
        _f("NOW", 0, 0, _now, _fixed(TIMESTAMP_LTZ3), deterministic=False),
        _f("PROCTIME", 0, 0, _now, _fixed(TIMESTAMP_LTZ3), deterministic=False),
        _f("CURRENT_ROW_TIMESTAMP", 0, 0, _now, _fixed(TIMESTAMP_LTZ3), deterministic=False),
        _f("LOCALTIMESTAMP", 0, 0, _localtimestamp, _fixed(TIMESTAMP3), deterministic=False),
        _f("CURRENT_DATE", 0, 0, _current_date, _fixed(DATE), deterministic=False),
        _f("UNIX_TIMESTAMP", 0, 2, _unix_timestamp, _unix_ts_rule, deterministic=False),
        _f("FROM_UNIXTIME", 1, 2, _from_unixtime, _numeric_first(STRING)),
        # -- math
        _f("ABS", 1, 1, _abs, _numeric_same),
        _f("CEIL", 1, 1, _ceil_floor(pc.ceil), _ceil_floor_type),
        _f("CEILING", 1, 1, _ceil_floor(pc.ceil), _ceil_floor_type),
        _f("FLOOR", 1, 1, _ceil_floor(pc.floor), _ceil_floor_type),
        _f("ROUND", 1, 2, _round, _round_type),
        _f("TRUNCATE", 1, 2, _truncate, _round_type),
        _f("POWER", 2, 2, _power, _numeric_double),
        _f("POW", 2, 2, _power, _numeric_double),
        _f("SQRT", 1, 1, _math(pc.sqrt), _numeric_double),
        _f("LN", 1, 1, _math(pc.ln), _numeric_double),
        _f("LOG10", 1, 1, _math(pc.log10), _numeric_double),
        _f("LOG2", 1, 1, _math(pc.log2), _numeric_double),
        _f("LOG", 1, 2, _log, _numeric_double),
        _f("EXP", 1, 1, _math(pc.exp), _numeric_double),
        _f("SIGN", 1, 1, _sign, _sign_rule),
        _f("SIN", 1, 1, _math(pc.sin), _numeric_double),
        _f("COS", 1, 1, _math(pc.cos), _numeric_double),
        _f("TAN", 1, 1, _math(pc.tan), _numeric_double),
    ]
)

# Known Flink functions this engine cannot run yet (NotSupportedError rather than "unknown").
UNSUPPORTED = frozenset({
    "MD5", "SHA1", "SHA2", "SHA256", "UUID", "RAND", "RAND_INTEGER", "TO_BASE64", "FROM_BASE64",
    "ENCODE", "DECODE", "TIMESTAMPADD",
    "OVERLAY", "ASCII", "CHR", "SHA512", "UNHEX", "CARDINALITY", "ELEMENT", "ARRAY_CONTAINS",
    "CURRENT_WATERMARK", "SOURCE_WATERMARK", "HASH_CODE", "DATE_ADD", "DATE_SUB", "DATEDIFF",
    "TIMESTAMPDIFF", "CONVERT_TZ", "PARSE_URL", "STR_TO_MAP", "HEX", "BIN",
})


def lookup(name: str) -> FunctionDef:
    """The function named ``name`` (case-insensitive)."""
    key = name.upper()
    if key in FUNCTIONS:
        return FUNCTIONS[key]
    if key in UNSUPPORTED:
        raise NotSupportedError(f"function {key}")
    close = difflib.get_close_matches(key, FUNCTIONS.keys(), n=3, cutoff=0.6)
    hint = ("did you mean " + ", ".join(close) + "?") if close else None
    raise ValidationError(f"unknown function {name}", hint=hint)


def check_arity(fdef: FunctionDef, count: int) -> None:
    if count < fdef.min_args or (fdef.max_args >= 0 and count > fdef.max_args):
        if fdef.max_args < 0:
            expected = f"at least {fdef.min_args}"
        elif fdef.min_args == fdef.max_args:
            expected = str(fdef.min_args)
        else:
            expected = f"{fdef.min_args} to {fdef.max_args}"
        raise ValidationError(
            f"function {fdef.name} takes {expected} argument(s), got {count}"
        )


