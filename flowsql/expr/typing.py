"""Type inference for compiled expressions: Flink's type rules over :class:`FlinkType`.

Contract:
- Every compiled expression carries a :class:`~flowsql.types.FlinkType`; its Arrow type is
  ``to_arrow`` of that (intervals, which Flink types have no Arrow mapping for in
  ``flowsql.types``, are ``duration[ms]`` / ``month_day_nano_interval``).
- :func:`arithmetic_type` follows Flink's ``LogicalTypeMerging``: integer ∘ integer stays the
  wider integer (``INT / INT`` is ``INT``, truncating), anything with FLOAT/DOUBLE is
  DOUBLE (FLOAT ∘ FLOAT stays FLOAT), DECIMAL arithmetic uses Flink's precision/scale rules
  (``BIGINT * 0.908`` is ``DECIMAL(23, 3)``), adjusted to at most 38 digits.
- :func:`common_type` is the least restrictive type of several operands (CASE, COALESCE,
  IN, comparisons); no common type → ``None`` (callers raise ValidationError).
- :func:`aggregate_type` types SUM/AVG/MIN/MAX/COUNT... for the aggregation operators and
  rejects e.g. ``SUM`` over a string with a :class:`ValidationError`.
"""

from __future__ import annotations

import pyarrow as pa

from flowsql.errors import ValidationError
from flowsql.types import STRING_MAX, FlinkType, to_arrow

MAX_PRECISION = 38
MIN_ADJUSTED_SCALE = 6

INTEGER_ROOTS = ("TINYINT", "SMALLINT", "INT", "BIGINT")
APPROX_ROOTS = ("FLOAT", "DOUBLE")
NUMERIC_ROOTS = (*INTEGER_ROOTS, "DECIMAL", *APPROX_ROOTS)
STRING_ROOTS = ("VARCHAR", "CHAR")
TIMESTAMP_ROOTS = ("TIMESTAMP", "TIMESTAMP_LTZ")
INTERVAL_DT = "INTERVAL_DAY_TIME"
INTERVAL_YM = "INTERVAL_YEAR_MONTH"

_INT_DECIMAL_PRECISION = {"TINYINT": 3, "SMALLINT": 5, "INT": 10, "BIGINT": 19}

STRING = FlinkType("VARCHAR", (STRING_MAX,))
BOOLEAN = FlinkType("BOOLEAN")
INT = FlinkType("INT")
BIGINT = FlinkType("BIGINT")
DOUBLE = FlinkType("DOUBLE")
DATE = FlinkType("DATE")
NULL = FlinkType("NULL")
TIMESTAMP3 = FlinkType("TIMESTAMP", (3,))
TIMESTAMP_LTZ3 = FlinkType("TIMESTAMP_LTZ", (3,))
INTERVAL_DAY_TIME = FlinkType(INTERVAL_DT)
INTERVAL_YEAR_MONTH = FlinkType(INTERVAL_YM)


def is_integer(t: FlinkType) -> bool:
    return t.root in INTEGER_ROOTS


def is_numeric(t: FlinkType) -> bool:
    return t.root in NUMERIC_ROOTS


def is_string(t: FlinkType) -> bool:
    return t.root in STRING_ROOTS


def is_timestamp(t: FlinkType) -> bool:
    return t.root in TIMESTAMP_ROOTS


def is_temporal(t: FlinkType) -> bool:
    return t.root in (*TIMESTAMP_ROOTS, "DATE", "TIME")


def is_null(t: FlinkType) -> bool:
    return t.root == "NULL"


def type_name(t: FlinkType) -> str:
    """Flink's spelling of a type for error messages (nullability omitted)."""
    if t.root == INTERVAL_DT:
        return "INTERVAL DAY TO SECOND"
    if t.root == INTERVAL_YM:
        return "INTERVAL YEAR TO MONTH"
    return str(t.with_nullable(True))


def arrow_type(t: FlinkType) -> pa.DataType:
    """Arrow type for a Flink type, including the interval types used by expressions."""
    if t.root == INTERVAL_DT:
        return pa.duration("ms")
    if t.root == INTERVAL_YM:
        return pa.month_day_nano_interval()
    if t.root == "TIMESTAMP" and (t.precision or 0) <= 3:
        return pa.timestamp("ms")
    if t.root == "TIMESTAMP_LTZ" and (t.precision or 0) <= 3:
        return pa.timestamp("ms", tz="UTC")
    return to_arrow(t)


def as_decimal(t: FlinkType) -> tuple[int, int]:
    """(precision, scale) of an exact numeric type seen as a DECIMAL."""
    if t.root == "DECIMAL":
        return t.params[0], t.params[1]
    return _INT_DECIMAL_PRECISION[t.root], 0


def adjust_decimal(precision: int, scale: int) -> FlinkType:
    """Flink's ``LogicalTypeMerging.adjustPrecisionScale``: cap precision at 38, keeping
    integer digits and at least ``min(scale, 6)`` fractional digits."""
    if precision <= MAX_PRECISION:
        return FlinkType("DECIMAL", (max(precision, 1), scale))
    int_digits = precision - scale
    min_scale = min(scale, MIN_ADJUSTED_SCALE)
    scale = max(MAX_PRECISION - int_digits, min_scale)
    return FlinkType("DECIMAL", (MAX_PRECISION, scale))


def _wider_integer(a: FlinkType, b: FlinkType) -> FlinkType:
    return a if INTEGER_ROOTS.index(a.root) >= INTEGER_ROOTS.index(b.root) else b


def arithmetic_type(op: str, a: FlinkType, b: FlinkType) -> FlinkType:
    """Result type of ``a op b`` for numeric operands (``op`` in + - * / %).

    Raises :class:`ValidationError` naming the operator and both types when either side is
    not numeric (temporal ± interval is handled by the compiler before calling this)."""
    if is_null(a) and is_null(b):
        return NULL
    if is_null(a):
        a = b
    if is_null(b):
        b = a
    if not (is_numeric(a) and is_numeric(b)):
        raise ValidationError(
            f"cannot apply '{op}' to arguments of type {type_name(a)} and {type_name(b)}",
            hint="arithmetic needs numeric operands; use CAST to convert",
        )
    if a.root in APPROX_ROOTS or b.root in APPROX_ROOTS:
        return FlinkType("FLOAT") if a.root == b.root == "FLOAT" else DOUBLE
    if is_integer(a) and is_integer(b):
        if op == "%":
            return b if INTEGER_ROOTS.index(b.root) <= INTEGER_ROOTS.index(a.root) else a
        return _wider_integer(a, b)
    p1, s1 = as_decimal(a)
    p2, s2 = as_decimal(b)
    if op in ("+", "-"):
        scale = max(s1, s2)
        return adjust_decimal(max(p1 - s1, p2 - s2) + scale + 1, scale)
    if op == "*":
        return adjust_decimal(p1 + p2 + 1, s1 + s2)
    if op == "/":
        scale = max(MIN_ADJUSTED_SCALE, s1 + p2 + 1)
        return adjust_decimal(p1 - s1 + s2 + scale, scale)
    scale = max(s1, s2)  # MOD
    return adjust_decimal(min(p1 - s1, p2 - s2) + scale, scale)


def _numeric_rank(t: FlinkType) -> int:
    return NUMERIC_ROOTS.index(t.root)


def common_type(types: list[FlinkType]) -> FlinkType | None:
    """Least restrictive type of ``types`` (NULL adapts to the others), or None."""
    real = [t for t in types if not is_null(t)]
    if not real:
        return NULL
    nullable = any(t.nullable for t in types)
    first = real[0]
    if all(is_numeric(t) for t in real):
        if any(t.root in APPROX_ROOTS for t in real):
            root = "FLOAT" if all(t.root == "FLOAT" for t in real) else "DOUBLE"
            return FlinkType(root, nullable=nullable)
        if any(t.root == "DECIMAL" for t in real):
            decs = [as_decimal(t) for t in real]
            scale = max(s for _, s in decs)
            ints = max(p - s for p, s in decs)
            return adjust_decimal(ints + scale, scale).with_nullable(nullable)
        best = max(real, key=_numeric_rank)
        return best.with_nullable(nullable)
    if all(is_string(t) for t in real):
        return STRING.with_nullable(nullable)
    if all(is_timestamp(t) or t.root == "DATE" for t in real) and any(is_timestamp(t) for t in real):
        ltz = any(t.root == "TIMESTAMP_LTZ" for t in real)
        precision = max((t.precision or 0) for t in real if is_timestamp(t))
        return FlinkType("TIMESTAMP_LTZ" if ltz else "TIMESTAMP", (precision,), nullable=nullable)
    if all(t.root == first.root for t in real):
        return first.with_nullable(nullable)
    return None


def comparable(a: FlinkType, b: FlinkType) -> bool:
    """Whether ``a`` and ``b`` may be compared with =, <, ... (after implicit widening)."""
    if is_null(a) or is_null(b):
        return True
    if is_numeric(a) and is_numeric(b):
        return True
    if is_string(a) and is_string(b):
        return True
    if is_temporal(a) and is_temporal(b):
        return a.root != "TIME" and b.root != "TIME" or a.root == b.root
    if (is_string(a) and is_temporal(b)) or (is_temporal(a) and is_string(b)):
        return True  # the string side is cast to the temporal type, as Calcite coerces
    return a.root == b.root


_AGGREGATES = ("SUM", "SUM0", "AVG", "MIN", "MAX", "COUNT", "FIRST_VALUE", "LAST_VALUE",
               "STDDEV_POP", "STDDEV_SAMP", "VAR_POP", "VAR_SAMP", "LISTAGG", "COLLECT")


def aggregate_type(name: str, arg: FlinkType | None) -> FlinkType:
    """Result type of aggregate ``name`` over an argument of type ``arg`` (None for COUNT(*)).

    Follows Flink: SUM keeps an integer/approximate type (SUM(INT) is INT); SUM of
    DECIMAL(p, s) is DECIMAL(38, s); AVG keeps the argument type (integer AVG truncates);
    COUNT is BIGINT NOT NULL; MIN/MAX keep the type. Non-numeric SUM/AVG → ValidationError."""
    name = name.upper()
    if name == "COUNT":
        return BIGINT.with_nullable(False)
    if arg is None:
        raise ValidationError(f"{name}(*) is not valid; only COUNT(*) takes '*'")
    if name in ("SUM", "SUM0", "AVG", "STDDEV_POP", "STDDEV_SAMP", "VAR_POP", "VAR_SAMP"):
        if not is_numeric(arg):
            raise ValidationError(
                f"cannot apply '{name}' to an argument of type {type_name(arg)}",
                hint=f"{name} needs a numeric argument",
            )
        if name in ("SUM", "SUM0") and arg.root == "DECIMAL":
            return FlinkType("DECIMAL", (MAX_PRECISION, arg.params[1]))
        if name.startswith(("STDDEV", "VAR")) and arg.root not in APPROX_ROOTS:
            return DOUBLE if arg.root != "DECIMAL" else arg.with_nullable(True)
        return arg.with_nullable(True)
    if name in ("MIN", "MAX", "FIRST_VALUE", "LAST_VALUE"):
        return arg.with_nullable(True)
    if name == "LISTAGG":
        if not is_string(arg):
            raise ValidationError(f"cannot apply 'LISTAGG' to an argument of type {type_name(arg)}")
        return STRING
    if name == "COLLECT":
        return FlinkType("MULTISET", (), (arg,))
    raise ValidationError(f"unknown aggregate function {name}")


def is_aggregate(name: str) -> bool:
    return name.upper() in _AGGREGATES
