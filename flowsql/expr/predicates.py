"""Predicates and string concatenation: comparisons, IS [NOT] DISTINCT FROM, AND/OR/NOT
with SQL three-valued logic, IS [NOT] NULL/TRUE/FALSE, BETWEEN, IN (list), LIKE [ESCAPE], ||.

Contract: operands are widened to their common type before comparing; a string compared
with a DATE/TIMESTAMP is cast to it (Calcite's coercion); other mixes (STRING = INT) raise
``ValidationError`` naming the operator and both types. ``x IN (…, NULL)`` is NULL when no
element matches. AND/OR short-circuit a right operand that may fail (it is evaluated only on
the rows whose result it can still change).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.expr.compile import CompiledExpr, Scope
from flowsql.expr.kernels import Value, as_array, broadcast
from flowsql.expr.operators import coerce, compile_node, constant, evaluate_where, make
from flowsql.expr.typing import (
    BOOLEAN,
    STRING,
    arrow_type,
    common_type,
    comparable,
    is_null,
    is_string,
    is_temporal,
    type_name,
)

_COMPARE = {exp.EQ: ("=", pc.equal), exp.NEQ: ("<>", pc.not_equal), exp.GT: (">", pc.greater),
            exp.GTE: (">=", pc.greater_equal), exp.LT: ("<", pc.less),
            exp.LTE: ("<=", pc.less_equal)}


def comparison_operands(op: str, left: CompiledExpr, right: CompiledExpr, scope: Scope
                        ) -> tuple[CompiledExpr, CompiledExpr]:
    lt, rt = left.flink_type, right.flink_type
    if not comparable(lt, rt):
        raise ValidationError(
            f"cannot apply '{op}' to arguments of type {type_name(lt)} and {type_name(rt)}",
            hint="compare values of the same kind, or CAST one side",
        )
    if is_string(lt) and is_temporal(rt):
        return coerce(left, rt, scope), right
    if is_temporal(lt) and is_string(rt):
        return left, coerce(right, lt, scope)
    target = common_type([lt, rt])
    if target is None or is_null(target):
        return left, right
    return coerce(left, target, scope), coerce(right, target, scope)


def _compare(e: exp.Binary, scope: Scope) -> CompiledExpr:
    op, fn = _COMPARE[type(e)]
    left, right = comparison_operands(op, compile_node(e.this, scope),
                                      compile_node(e.expression, scope), scope)
    if is_null(left.flink_type) or is_null(right.flink_type):
        return constant(pa.scalar(None, pa.bool_()), BOOLEAN, e.sql())
    return make(lambda v: fn(v[0], v[1]), [left, right], BOOLEAN, e.sql())


def _null_safe(e: exp.Binary, scope: Scope) -> CompiledExpr:
    negate = isinstance(e, exp.NullSafeNEQ)
    op = "IS DISTINCT FROM" if negate else "IS NOT DISTINCT FROM"
    left, right = comparison_operands(op, compile_node(e.this, scope),
                                      compile_node(e.expression, scope), scope)

    def kernel(v: list[Value]) -> Value:
        a, b = v
        a_null, b_null = pc.is_null(a), pc.is_null(b)
        if pa.types.is_null(a.type) or pa.types.is_null(b.type):
            same = pc.and_(a_null, b_null)
        else:
            same = pc.or_(pc.and_(a_null, b_null), pc.fill_null(pc.equal(a, b), False))
        return pc.invert(same) if negate else same

    return make(kernel, [left, right], BOOLEAN.with_nullable(False), e.sql())


def boolean_operand(c: CompiledExpr, what: str) -> CompiledExpr:
    t = c.flink_type
    if not (t.root == "BOOLEAN" or is_null(t)):
        raise ValidationError(f"{what} needs a BOOLEAN operand, got {type_name(t)} ({c.sql})")
    if is_null(t):
        return constant(pa.scalar(None, pa.bool_()), BOOLEAN, c.sql)
    return c


def _and_or(e: exp.Connector, scope: Scope) -> CompiledExpr:
    is_and = isinstance(e, exp.And)
    name = "AND" if is_and else "OR"
    left = boolean_operand(compile_node(e.this, scope), name)
    right = boolean_operand(compile_node(e.expression, scope), name)
    fn = pc.and_kleene if is_and else pc.or_kleene
    if not right.may_fail or left.constant:
        return make(lambda v: fn(v[0], v[1]), [left, right], BOOLEAN, e.sql())

    def lazy(batch: pa.RecordBatch | None) -> Value:
        assert batch is not None
        lv = as_array(broadcast(left.fn(batch), batch.num_rows))
        needed = pc.fill_null(lv, True) if is_and else pc.invert(pc.fill_null(lv, False))
        rv = evaluate_where(right, batch, needed)
        return fn(lv, rv)

    return CompiledExpr(lazy, BOOLEAN, e.sql(), may_fail=True,
                        deterministic=left.deterministic and right.deterministic)


def _not(e: exp.Not, scope: Scope) -> CompiledExpr:
    operand = boolean_operand(compile_node(e.this, scope), "NOT")
    return make(lambda v: pc.invert(v[0]), [operand], BOOLEAN, e.sql())


def _is(e: exp.Is, scope: Scope) -> CompiledExpr:
    operand = compile_node(e.this, scope)
    what = e.expression
    if isinstance(what, exp.Null):
        return make(lambda v: pc.is_null(v[0]), [operand], BOOLEAN.with_nullable(False), e.sql())
    if isinstance(what, exp.Boolean):
        operand = boolean_operand(operand, "IS TRUE/FALSE")
        wanted = bool(what.this)
        return make(lambda v: pc.fill_null(pc.equal(v[0], wanted), False), [operand],
                    BOOLEAN.with_nullable(False), e.sql())
    raise NotSupportedError(f"IS {what.sql()}")


def _between(e: exp.Between, scope: Scope) -> CompiledExpr:
    if e.args.get("symmetric"):
        raise NotSupportedError("BETWEEN SYMMETRIC")
    value = compile_node(e.this, scope)
    low = compile_node(e.args["low"], scope)
    high = compile_node(e.args["high"], scope)
    v1, lo = comparison_operands("BETWEEN", value, low, scope)
    v2, hi = comparison_operands("BETWEEN", value, high, scope)
    return make(lambda v: pc.and_kleene(pc.greater_equal(v[0], v[1]), pc.less_equal(v[2], v[3])),
                [v1, lo, v2, hi], BOOLEAN, e.sql())


def _in(e: exp.In, scope: Scope) -> CompiledExpr:
    if e.args.get("query") or e.args.get("unnest") or e.args.get("field"):
        raise NotSupportedError(f"IN with a subquery ({e.sql()})")
    value = compile_node(e.this, scope)
    items = [compile_node(x, scope) for x in e.expressions]
    for item in items:
        if not comparable(value.flink_type, item.flink_type):
            raise ValidationError(
                f"cannot apply 'IN' to arguments of type {type_name(value.flink_type)} and "
                f"{type_name(item.flink_type)}"
            )
    target = common_type([value.flink_type, *[i.flink_type for i in items]]) or value.flink_type
    value = coerce(value, target, scope)
    items = [coerce(i, target, scope) for i in items]
    if all(i.constant for i in items):
        values = [i.value for i in items]
        has_null = any(v is None for v in values)
        value_set = pa.array([v for v in values if v is not None], type=arrow_type(target))

        def kernel(v: list[Value]) -> Value:
            found = pc.is_in(v[0], value_set=value_set)
            found = pc.if_else(pc.is_null(v[0]), pa.scalar(None, pa.bool_()), found)
            if has_null:
                found = pc.if_else(found, True, pa.scalar(None, pa.bool_()))
            return found

        return make(kernel, [value], BOOLEAN, e.sql())

    def chain(v: list[Value]) -> Value:
        out = pc.equal(v[0], v[1])
        for other in v[2:]:
            out = pc.or_kleene(out, pc.equal(v[0], other))
        return out

    return make(chain, [value, *items], BOOLEAN, e.sql())


def _like(e: exp.Binary, scope: Scope, escape: str | None = None) -> CompiledExpr:
    case_insensitive = isinstance(e, exp.ILike)
    value = compile_node(e.this, scope)
    pattern = compile_node(e.expression, scope)
    for c in (value, pattern):
        if not (is_string(c.flink_type) or is_null(c.flink_type)):
            raise ValidationError(f"cannot apply 'LIKE' to an argument of type "
                                  f"{type_name(c.flink_type)} ({c.sql})")
    if not pattern.constant:
        raise NotSupportedError(f"LIKE with a non-constant pattern ({e.sql()})")
    text = pattern.value
    if text is None:
        return constant(pa.scalar(None, pa.bool_()), BOOLEAN, e.sql())
    if escape is not None and escape != "\\":
        text = _reescape(text, escape)
    negate = bool(e.args.get("negate"))

    def kernel(v: list[Value]) -> Value:
        out = pc.match_like(v[0], text, ignore_case=case_insensitive)
        return pc.invert(out) if negate else out

    return make(kernel, [value], BOOLEAN, e.sql())


def _reescape(pattern: str, escape: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == escape and i + 1 < len(pattern):
            out.append("\\" + pattern[i + 1])
            i += 2
            continue
        out.append("\\\\" if ch == "\\" else ch)
        i += 1
    return "".join(out)


def _escape(e: exp.Escape, scope: Scope) -> CompiledExpr:
    inner = e.this
    esc = compile_node(e.expression, scope)
    if not isinstance(inner, exp.Like | exp.ILike) or not esc.constant:
        raise NotSupportedError(f"ESCAPE here ({e.sql()})")
    return _like(inner, scope, escape=esc.value)


def _dpipe(e: exp.DPipe, scope: Scope) -> CompiledExpr:
    left = compile_node(e.this, scope)
    right = compile_node(e.expression, scope)
    for c in (left, right):
        if not (is_string(c.flink_type) or is_null(c.flink_type)):
            raise ValidationError(
                f"cannot apply '||' to arguments of type {type_name(left.flink_type)} and "
                f"{type_name(right.flink_type)}",
                hint="CAST the non-string operand to STRING",
            )
    left, right = coerce(left, STRING, scope), coerce(right, STRING, scope)
    return make(lambda v: pc.binary_join_element_wise(v[0], v[1], ""), [left, right], STRING,
                e.sql())



DISPATCH = [
    (exp.EQ, _compare), (exp.NEQ, _compare), (exp.GT, _compare), (exp.GTE, _compare),
    (exp.LT, _compare), (exp.LTE, _compare),
    (exp.NullSafeEQ, _null_safe), (exp.NullSafeNEQ, _null_safe),
    (exp.And, _and_or), (exp.Or, _and_or),
    (exp.Not, _not),
    (exp.Is, _is),
    (exp.Between, _between),
    (exp.In, _in),
    (exp.Escape, _escape),
    (exp.Like, _like), (exp.ILike, _like),
    (exp.DPipe, _dpipe),
]
