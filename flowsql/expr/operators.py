"""Compilation of sqlglot expression nodes: the dispatcher, building blocks, leaves, CAST.

Contract: :func:`compile_node(node, scope) -> CompiledExpr` (see :mod:`flowsql.expr.compile`
for the public contract). Every node kind is one small function in a dispatch table — here
(literals, columns, ROW fields, subscripts, CAST), :mod:`flowsql.expr.json` (the SQL/JSON
functions), :mod:`flowsql.expr.arithmetic`,
:mod:`flowsql.expr.predicates` and :mod:`flowsql.expr.conditional`; a node kind missing from
all of them raises ``NotSupportedError``. Named function calls — sqlglot's typed
function nodes (``exp.Upper``…) and ``exp.Anonymous`` alike — are normalized to a Flink
function name plus arguments (:mod:`flowsql.expr.calls`) and looked up in
:mod:`flowsql.expr.functions`.

Laziness: SQL evaluates only the CASE branch a row selects, and AND/OR short-circuit. When a
branch or right operand may raise (CAST, integer division), it is evaluated only on the rows
that need it (``batch.filter`` + ``replace_with_mask``); otherwise everything is evaluated
on the whole batch, which is cheaper.
"""

from __future__ import annotations

import dataclasses
import decimal
from collections.abc import Callable, Sequence

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.expr import casts
from flowsql.expr.compile import CompiledExpr, Scope, _runtime_message, resolve_column
from flowsql.expr.kernels import Value, as_array, broadcast
from flowsql.expr.typing import (
    BOOLEAN,
    INTERVAL_DAY_TIME,
    NULL,
    STRING,
    arrow_type,
    is_integer,
    is_string,
    type_name,
)
from flowsql.types import FlinkType

Kernel = Callable[[list[Value]], Value]


# ----------------------------------------------------------------------- building blocks


def make(
    kernel: Kernel,
    children: Sequence[CompiledExpr],
    ftype: FlinkType,
    sql: str,
    *,
    deterministic: bool = True,
    fails: bool = False,
) -> CompiledExpr:
    """A node computing ``kernel(child values)``; folded when every child is constant."""
    fns = [c.fn for c in children]

    def fn(batch: pa.RecordBatch | None) -> Value:
        return kernel([f(batch) for f in fns])

    det = deterministic and all(c.deterministic for c in children)
    if det and all(c.constant for c in children):
        value = _fold(fn, sql)
        return CompiledExpr(lambda batch, _v=value: _v, ftype, sql, constant=True)
    fails = fails or any(c.may_fail for c in children)
    return CompiledExpr(fn, ftype, sql, deterministic=det, may_fail=fails)


def _fold(fn: Callable[[None], Value], sql: str) -> Value:
    from flowsql.errors import ExecutionError, FlowSQLError

    try:
        value = fn(None)
    except FlowSQLError:
        raise
    except (pa.ArrowException, ArithmeticError, ValueError, TypeError, OverflowError) as exc:
        raise ExecutionError(_runtime_message(sql, exc)) from exc
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if isinstance(value, pa.Array) and len(value) == 1:
        value = value[0]
    return value


def constant(value: pa.Scalar, ftype: FlinkType, sql: str) -> CompiledExpr:
    return CompiledExpr(lambda batch, _v=value: _v, ftype, sql, constant=True)


def coerce(c: CompiledExpr, target: FlinkType, scope: Scope) -> CompiledExpr:
    """``c`` converted to ``target`` (implicit widening; NULL literals adopt the type)."""
    if c.flink_type == target or (
        c.flink_type.with_nullable(True) == target.with_nullable(True)
    ):
        return c
    if arrow_type(c.flink_type) == arrow_type(target) and c.flink_type.root == target.root:
        return c
    src = c.flink_type
    tz = scope.session_tz
    return make(
        lambda v: casts.cast_value(v[0], src, target, session_tz=tz),
        [c], target, c.sql,
        fails=is_string(src) and not is_string(target),
    )


def evaluate_where(c: CompiledExpr, batch: pa.RecordBatch, mask: pa.Array) -> Value:
    """``c`` evaluated only on the rows where ``mask`` is true; other rows are NULL."""
    mask = pc.fill_null(as_array(mask), False)
    count = pc.sum(mask).as_py() or 0
    target = c.type
    if count == 0:
        return pa.nulls(len(mask), type=target)
    if count == len(mask):
        return c.fn(batch)
    sub = batch.filter(mask)
    values = as_array(broadcast(c.fn(sub), sub.num_rows))
    if values.type != target:
        values = values.cast(target)
    return pc.replace_with_mask(pa.nulls(len(mask), type=target), mask, values)


# ----------------------------------------------------------------------- leaves


def literal(e: exp.Literal, scope: Scope) -> CompiledExpr:
    text = e.this
    if e.is_string:
        return constant(pa.scalar(text, pa.string()), STRING.with_nullable(False), e.sql())
    if "e" in text.lower():
        return constant(pa.scalar(float(text)), FlinkType("DOUBLE", nullable=False), e.sql())
    if "." in text:
        d = decimal.Decimal(text)
        _, digits, exponent = d.as_tuple()
        scale = -int(exponent)
        precision = max(len(digits), scale, 1)
        t = FlinkType("DECIMAL", (precision, scale), nullable=False)
        return constant(pa.scalar(d, pa.decimal128(precision, scale)), t, e.sql())
    n = int(text)
    if -(2**31) <= n < 2**31:
        return constant(pa.scalar(n, pa.int32()), FlinkType("INT", nullable=False), e.sql())
    if -(2**63) <= n < 2**63:
        return constant(pa.scalar(n, pa.int64()), FlinkType("BIGINT", nullable=False), e.sql())
    digits = len(text.lstrip("-"))
    if digits > 38:
        raise ValidationError(f"numeric literal {text} is out of range")
    t = FlinkType("DECIMAL", (digits, 0), nullable=False)
    return constant(pa.scalar(decimal.Decimal(n), pa.decimal128(digits, 0)), t, e.sql())


def _boolean(e: exp.Boolean, scope: Scope) -> CompiledExpr:
    return constant(pa.scalar(bool(e.this)), BOOLEAN.with_nullable(False), e.sql())


def _null(e: exp.Null, scope: Scope) -> CompiledExpr:
    return constant(pa.scalar(None, pa.null()), NULL, "NULL")


_UNIT_MS = {"MILLISECOND": 1, "SECOND": 1000, "MINUTE": 60_000, "HOUR": 3_600_000,
            "DAY": 86_400_000, "WEEK": 7 * 86_400_000}


def _unit(name: str) -> str:
    u = name.upper()
    return u[:-1] if u.endswith("S") and u[:-1] in (*_UNIT_MS, "YEAR", "MONTH") else u


def _interval(e: exp.Interval, scope: Scope) -> CompiledExpr:
    value = e.this
    unit = e.args.get("unit")
    if not isinstance(value, exp.Literal):
        raise NotSupportedError(f"INTERVAL with a non-literal value: {e.sql()}")
    text = value.this.strip()
    if unit is None:
        parts = text.split()
        if len(parts) != 2:
            raise ValidationError(f"cannot parse interval {e.sql()}")
        text, unit_name = parts
        span: tuple[str, str] | None = None
    elif isinstance(unit, exp.IntervalSpan):
        unit_name = ""
        span = (_unit(unit.this.name), _unit(unit.expression.name))
    else:
        unit_name = unit.name
        span = None
    if span is None:
        u = _unit(unit_name)
        if u in ("YEAR", "MONTH"):
            raise NotSupportedError(f"year-month intervals ({e.sql()})")
        if u not in _UNIT_MS:
            raise ValidationError(f"unknown interval unit {unit_name} in {e.sql()}")
        try:
            millis = round(float(text) * _UNIT_MS[u])
        except ValueError:
            raise ValidationError(f"invalid interval value '{text}' in {e.sql()}") from None
    else:
        millis = _interval_span(text, span, e.sql())
    return constant(pa.scalar(millis, pa.duration("ms")), INTERVAL_DAY_TIME, e.sql())


def _interval_span(text: str, span: tuple[str, str], sql: str) -> int:
    """'d hh:mm:ss.fff'-style values of INTERVAL '…' <unit> TO <unit>."""
    order = ["DAY", "HOUR", "MINUTE", "SECOND"]
    if span[0] not in order or span[1] not in order:
        raise NotSupportedError(f"interval {sql}")
    units = order[order.index(span[0]) : order.index(span[1]) + 1]
    sign = -1 if text.startswith("-") else 1
    fields = text.lstrip("+-").replace(" ", ":").split(":")
    if len(fields) != len(units):
        raise ValidationError(f"invalid interval value '{text}' in {sql}")
    try:
        total = sum(float(f) * _UNIT_MS[u] for f, u in zip(fields, units, strict=True))
    except ValueError:
        raise ValidationError(f"invalid interval value '{text}' in {sql}") from None
    return sign * round(total)


def _column(e: exp.Column, scope: Scope) -> CompiledExpr:
    if isinstance(e.this, exp.Star):
        raise ValidationError("'*' is not an expression here")
    return resolve_column([p.name for p in e.parts], scope, e.sql())


def struct_field(parent: CompiledExpr, name: str, sql: str) -> CompiledExpr:
    t = parent.flink_type
    if t.root != "ROW":
        raise ValidationError(f"cannot access field '{name}' of {parent.sql}: its type is "
                              f"{type_name(t)}, not ROW")
    if name not in t.field_names:
        raise ValidationError(
            f"ROW {parent.sql} has no field '{name}'; fields: "
            + ", ".join(f"`{f}`" for f in t.field_names)
        )
    index = t.field_names.index(name)
    ftype = t.children[index]
    return make(lambda v: pc.struct_field(v[0], [index]), [parent], ftype, sql)


def _dot(e: exp.Dot, scope: Scope) -> CompiledExpr:
    parent = compile_node(e.this, scope)
    return struct_field(parent, e.expression.name, e.sql())


def _bracket(e: exp.Bracket, scope: Scope) -> CompiledExpr:
    base = compile_node(e.this, scope)
    if len(e.expressions) != 1:
        raise NotSupportedError(f"multi-dimensional subscript {e.sql()}")
    key = compile_node(e.expressions[0], scope)
    t = base.flink_type
    if t.root == "ARRAY":
        if not key.constant or not is_integer(key.flink_type):
            raise NotSupportedError(f"array subscript with a non-constant index: {e.sql()}")
        idx = key.value
        return make(lambda v: _array_element(v[0], idx), [base], t.children[0], e.sql())
    if t.root == "MAP":
        if not key.constant:
            raise NotSupportedError(f"map lookup with a non-constant key: {e.sql()}")
        k = key.value
        return make(lambda v: pc.map_lookup(v[0], pa.scalar(k, arrow_type(t.children[0])),
                                            "first"), [base], t.children[1], e.sql())
    raise ValidationError(f"cannot subscript {base.sql} of type {type_name(t)}")


def _array_element(arr: Value, index: int) -> Value:
    """Flink arrays are 1-based; out-of-range gives NULL."""
    if index < 1:
        return pa.nulls(len(arr), type=arr.type.value_type)
    picked = pc.list_slice(arr, start=index - 1, stop=index)
    present = pc.fill_null(pc.equal(pc.list_value_length(picked), 1), False)
    picked = pc.if_else(present, picked, pa.scalar(None, picked.type))
    return pc.replace_with_mask(pa.nulls(len(arr), type=arr.type.value_type), present,
                                pc.list_flatten(picked))


# ----------------------------------------------------------------------- CAST


def flink_type_of(dt: exp.DataType) -> FlinkType:
    """Flink type of a sqlglot DataType (CAST target)."""
    from flowsql.types import parse_type

    kind = dt.this
    name = kind.value if hasattr(kind, "value") else str(kind)
    params = [p.sql() for p in dt.expressions] if dt.expressions else []
    roots = {
        "TEXT": "STRING", "VARCHAR": "VARCHAR", "NVARCHAR": "VARCHAR", "CHAR": "CHAR",
        "NCHAR": "CHAR", "INT": "INT", "BIGINT": "BIGINT", "SMALLINT": "SMALLINT",
        "TINYINT": "TINYINT", "BOOLEAN": "BOOLEAN", "FLOAT": "FLOAT", "DOUBLE": "DOUBLE",
        "DECIMAL": "DECIMAL", "DATE": "DATE", "TIME": "TIME", "TIMESTAMP": "TIMESTAMP",
        "TIMESTAMPLTZ": "TIMESTAMP_LTZ", "TIMESTAMPTZ": "TIMESTAMP_LTZ", "BINARY": "BINARY",
        "VARBINARY": "VARBINARY", "DATETIME": "TIMESTAMP",
    }
    if name == "USERDEFINED":
        text = str(dt.args.get("kind") or dt.sql())
    elif name in roots:
        text = roots[name] + (f"({', '.join(params)})" if params else "")
        if name in ("TIMESTAMP", "TIMESTAMPLTZ", "TIMESTAMPTZ") and not params:
            text = roots[name] + "(3)"
    else:
        text = dt.sql()
    return parse_type(text)


def _cast(e: exp.Cast, scope: Scope) -> CompiledExpr:
    target = flink_type_of(e.args["to"])
    operand = compile_node(e.this, scope)
    src = operand.flink_type
    casts.check_cast(src, target)
    if target.root in ("TIMESTAMP", "TIMESTAMP_LTZ") and (target.precision or 0) > 3:
        target = FlinkType(target.root, (3,))  # the engine's time unit is milliseconds
    try_mode = isinstance(e, exp.TryCast) and bool(e.args.get("safe"))
    on_error = "null" if try_mode else "raise"
    tz = scope.session_tz
    fails = not try_mode and (is_string(src) or target.root == "DECIMAL")
    return make(
        lambda v: casts.cast_value(v[0], src, target, on_error=on_error, session_tz=tz),
        [operand], target, e.sql(), fails=fails,
    )


# ----------------------------------------------------------------------- dispatch


def compile_node(e: exp.Expression, scope: Scope) -> CompiledExpr:
    """Compile one sqlglot node (see module contract); a common sub-expression
    (``scope.cse``) is compiled once and its value memoized per batch."""
    cse = scope.cse
    if cse is not None:
        from flowsql.expr.compile import cse_key

        key = cse_key(e)
        if key is not None and key in cse.shared:
            hit = cse.compiled.get(key)
            if hit is not None:
                return hit
            compiled = _compile_node(e, scope)
            if compiled.deterministic:
                if not compiled.constant:
                    compiled = dataclasses.replace(compiled, fn=cse.memoized(key, compiled.fn))
                cse.compiled[key] = compiled
            return compiled
    return _compile_node(e, scope)


def _compile_node(e: exp.Expression, scope: Scope) -> CompiledExpr:
    from flowsql.expr import arithmetic, conditional, json, predicates
    from flowsql.expr.calls import compile_call

    for table in (_DISPATCH, json.DISPATCH, arithmetic.DISPATCH, predicates.DISPATCH,
                  conditional.DISPATCH):
        for kind, handler in table:
            if isinstance(e, kind):
                return handler(e, scope)
    if isinstance(e, exp.AggFunc):
        from flowsql.expr.calls import reject_aggregate

        reject_aggregate(e, scope)
    if isinstance(e, exp.Func):
        return compile_call(e, scope)
    if isinstance(e, exp.Subquery | exp.Select | exp.Exists | exp.Any | exp.All):
        raise NotSupportedError(f"subqueries in expressions ({e.sql()})")
    if isinstance(e, exp.Window):
        raise NotSupportedError(f"OVER windows in this position ({e.sql()})")
    raise NotSupportedError(f"expression {e.sql()} ({type(e).__name__})")


_DISPATCH: list[tuple[type, Callable[..., CompiledExpr]]] = [
    (exp.Paren, lambda e, s: compile_node(e.this, s)),
    (exp.Alias, lambda e, s: compile_node(e.this, s)),
    (exp.Column, _column),
    (exp.Dot, _dot),
    (exp.Bracket, _bracket),
    (exp.Literal, literal),
    (exp.Boolean, _boolean),
    (exp.Null, _null),
    (exp.Interval, _interval),
    (exp.Cast, _cast),  # TryCast is a subclass
]
