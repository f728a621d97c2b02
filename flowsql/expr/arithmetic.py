"""Arithmetic: + - * / % (MOD), unary minus, and timestamp ± interval.

Contract: Flink's result types (:func:`flowsql.expr.typing.arithmetic_type`): integers stay
integers and wrap on overflow like Java; ``INT / INT`` truncates toward zero; DECIMAL results
get Flink's precision/scale (rounded HALF_UP when the scale shrinks); MOD's sign follows the
dividend. Integer or DECIMAL division by zero raises ``ExecutionError`` (Flink's
ArithmeticException); DOUBLE division by zero gives ±Infinity/NaN as in Java. DECIMAL
division is computed in DOUBLE and rounded to Flink's scale (exact to ~15 digits).
TIMESTAMP/DATE ± day-time INTERVAL keeps the type (DATE + whole days stays DATE).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.expr.compile import CompiledExpr, Scope
from flowsql.expr.kernels import Value, numpy_binary
from flowsql.expr.operators import Kernel, coerce, compile_node, constant, literal, make
from flowsql.expr.typing import (
    APPROX_ROOTS,
    INTERVAL_DAY_TIME,
    INTERVAL_DT,
    NULL,
    arithmetic_type,
    arrow_type,
    is_integer,
    is_null,
    is_numeric,
    is_temporal,
    is_timestamp,
    type_name,
)
from flowsql.types import FlinkType

_ARITH = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%",
          exp.IntDiv: "/"}


def _arith(e: exp.Binary, scope: Scope) -> CompiledExpr:
    op = _ARITH[type(e)]
    left = compile_node(e.this, scope)
    right = compile_node(e.expression, scope)
    lt, rt = left.flink_type, right.flink_type
    if op in "+-" and (lt.root == INTERVAL_DT or rt.root == INTERVAL_DT):
        return _temporal_arith(op, left, right, e.sql())
    if op in "+-*/%" and is_temporal(lt) and is_temporal(rt) and op == "-":
        raise NotSupportedError(f"subtracting temporal values ({e.sql()}); use TIMESTAMPDIFF")
    result = arithmetic_type(op, lt, rt)
    if is_null(result):
        return constant(pa.scalar(None, pa.null()), NULL, e.sql())
    target = arrow_type(result)
    if result.root == "DECIMAL":
        operand_types = [_decimal_operand(t, result) for t in (lt, rt)]
    else:
        operand_types = [result, result]
    a = coerce(left, operand_types[0], scope)
    b = coerce(right, operand_types[1], scope)
    divides = op in "/%"
    fails = divides and not (b.constant and b.value not in (0, None)) and \
        result.root not in APPROX_ROOTS
    kernel = _arith_kernel(op, result, target)
    return make(kernel, [a, b], result, e.sql(), fails=fails)


def _decimal_operand(t: FlinkType, result: FlinkType) -> FlinkType:
    if is_null(t):
        return result
    if is_integer(t):
        from flowsql.expr.typing import as_decimal

        p, s = as_decimal(t)
        return FlinkType("DECIMAL", (p, s))
    return t


def _arith_kernel(op: str, result: FlinkType, target: pa.DataType) -> Kernel:
    approx = result.root in APPROX_ROOTS
    decimal_result = result.root == "DECIMAL"

    def fit(v: Value) -> Value:
        if v.type == target:
            return v
        if decimal_result and pa.types.is_decimal(v.type) and v.type.scale > target.scale:
            v = pc.round(v, ndigits=target.scale, round_mode="half_towards_infinity")
        return pc.cast(v, target)

    if op == "+":
        return lambda v: fit(pc.add(v[0], v[1]))
    if op == "-":
        return lambda v: fit(pc.subtract(v[0], v[1]))
    if op == "*":
        return lambda v: fit(pc.multiply(v[0], v[1]))
    if op == "/":
        if decimal_result:
            # exact enough: Arrow's decimal division scale differs from Flink's, so divide
            # in DOUBLE and round to Flink's scale (documented deviation for > 15 digits)
            return lambda v: fit(pc.round(pc.divide(pc.cast(v[0], pa.float64()),
                                                    _nonzero(pc.cast(v[1], pa.float64()))),
                                          ndigits=target.scale,
                                          round_mode="half_towards_infinity"))
        return lambda v: fit(pc.divide(v[0], v[1]))
    # MOD / %: sign follows the dividend (Java)
    if approx:
        import numpy as np

        return lambda v: numpy_binary(np.fmod, v[0], v[1], target)
    if decimal_result:
        return lambda v: fit(pc.subtract(v[0], pc.multiply(
            pc.trunc(pc.divide(v[0], _nonzero(v[1]))), v[1])))
    return lambda v: fit(pc.subtract(v[0], pc.multiply(pc.divide(v[0], v[1]), v[1])))


def _nonzero(v: Value) -> Value:
    """Raise Flink's division-by-zero error for a zero divisor (DOUBLE division would
    otherwise quietly give Infinity where Flink's DECIMAL division fails)."""
    zero = pc.equal(v, 0)
    if (zero.as_py() if isinstance(zero, pa.Scalar) else pc.any(zero).as_py()):
        raise ZeroDivisionError("divide by zero")
    return v


def _temporal_arith(op: str, left: CompiledExpr, right: CompiledExpr, sql: str) -> CompiledExpr:
    lt, rt = left.flink_type, right.flink_type
    if lt.root == INTERVAL_DT and rt.root == INTERVAL_DT:
        fn = pc.add if op == "+" else pc.subtract
        return make(lambda v: fn(v[0], v[1]), [left, right], INTERVAL_DAY_TIME, sql)
    if rt.root == INTERVAL_DT and (is_timestamp(lt) or lt.root == "DATE"):
        base, interval = left, right
    elif lt.root == INTERVAL_DT and op == "+" and (is_timestamp(rt) or rt.root == "DATE"):
        base, interval = right, left
    else:
        raise ValidationError(
            f"cannot apply '{op}' to arguments of type {type_name(lt)} and {type_name(rt)}"
        )
    bt = base.flink_type
    fn = pc.add if op == "+" else pc.subtract
    if bt.root == "DATE":
        whole_days = interval.constant and (interval.value is not None) and \
            _as_millis(interval.value) % 86_400_000 == 0
        out_t = FlinkType("DATE") if whole_days else FlinkType("TIMESTAMP", (3,))
        out_arrow = arrow_type(out_t)

        def date_kernel(v: list[Value]) -> Value:
            ts = fn(pc.cast(v[0], pa.timestamp("ms")), v[1])
            return pc.cast(ts, out_arrow) if out_t.root != "DATE" else pc.cast(
                pc.floor_temporal(ts, unit="day"), pa.date32(), safe=False)

        return make(date_kernel, [base, interval], out_t, sql)
    target = arrow_type(bt)
    return make(lambda v: pc.cast(fn(v[0], v[1]), target), [base, interval], bt, sql)


def _as_millis(value: object) -> int:
    import datetime

    if isinstance(value, datetime.timedelta):
        return int(value / datetime.timedelta(milliseconds=1))
    return int(value)  # type: ignore[call-overload]


def _neg(e: exp.Neg, scope: Scope) -> CompiledExpr:
    inner = e.this
    if isinstance(inner, exp.Literal) and not inner.is_string:
        return literal(exp.Literal(this=f"-{inner.this}", is_string=False), scope)
    operand = compile_node(inner, scope)
    t = operand.flink_type
    if not (is_numeric(t) or t.root == INTERVAL_DT or is_null(t)):
        raise ValidationError(f"cannot apply unary '-' to an argument of type {type_name(t)}")
    return make(lambda v: pc.negate(v[0]), [operand], t, e.sql())



DISPATCH = [
    (exp.Neg, _neg),
    (exp.Add, _arith), (exp.Sub, _arith), (exp.Mul, _arith), (exp.Div, _arith),
    (exp.Mod, _arith), (exp.IntDiv, _arith),
]
