"""Conditional expressions: CASE (searched and simple), IF, COALESCE, NULLIF.

Contract: each ``_compile_*`` turns its sqlglot node into a :class:`CompiledExpr`.
- Branch values are converted to their common type (``ValidationError`` listing the branch
  types when there is none); a NULL condition counts as false; a missing ELSE is NULL.
- When no branch can fail, all branches are computed on the whole batch and combined with
  ``pc.case_when`` (fast path). When a branch can fail (e.g. ``CASE WHEN s <> '' THEN
  CAST(s AS INT) END``), each branch is evaluated only on the rows that select it, as SQL
  requires, so a CAST error is raised only for rows that really evaluate it.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from flowsql.errors import ValidationError
from flowsql.expr.compile import CompiledExpr, Scope
from flowsql.expr.kernels import Value, as_array, broadcast
from flowsql.expr.operators import coerce, compile_node, constant, evaluate_where, make
from flowsql.expr.predicates import boolean_operand, comparison_operands
from flowsql.expr.typing import BOOLEAN, NULL, arrow_type, common_type, is_null, type_name
from flowsql.types import FlinkType


def _branch_type(what: str, values: list[CompiledExpr]) -> FlinkType:
    t = common_type([v.flink_type for v in values])
    if t is None:
        raise ValidationError(
            f"{what} branches have no common type: "
            + ", ".join(type_name(v.flink_type) for v in values)
        )
    return t


def _build_case(conds: list[CompiledExpr], values: list[CompiledExpr], default: CompiledExpr,
                sql: str, scope: Scope, what: str = "CASE") -> CompiledExpr:
    result_type = _branch_type(what, [*values, default])
    if is_null(result_type):  # every branch is NULL
        return constant(pa.scalar(None, pa.null()), NULL, sql)
    values = [coerce(v, result_type, scope) for v in values]
    default = coerce(default, result_type, scope)
    target = arrow_type(result_type)
    if not any(v.may_fail for v in [*values, default, *conds[1:]]):
        k = len(conds)

        def eager(v: list[Value]) -> Value:
            cs, vs, d = v[:k], v[k : 2 * k], v[2 * k]
            arrays = [x for x in v if not isinstance(x, pa.Scalar)]
            if not arrays:
                for c, val in zip(cs, vs, strict=True):
                    if c.as_py() is True:
                        return pc.cast(val, target)
                return pc.cast(d, target)
            n = len(arrays[0])
            cond_struct = pc.make_struct(*[as_array(broadcast(c, n)) for c in cs],
                                         field_names=[f"c{i}" for i in range(k)])
            branches = [as_array(broadcast(pc.cast(x, target), n)) for x in [*vs, d]]
            return pc.case_when(cond_struct, *branches)

        return make(eager, [*conds, *values, default], result_type, sql)

    def lazy(batch: pa.RecordBatch | None) -> Value:
        assert batch is not None
        n = batch.num_rows
        remaining = as_array(broadcast(pa.scalar(True), n))
        result = pa.nulls(n, type=target)
        for cond, value in zip(conds, values, strict=True):
            c = as_array(broadcast(evaluate_where(cond, batch, remaining), n))
            take = pc.and_(remaining, pc.fill_null(c, False))
            if pc.any(take).as_py():
                v = as_array(broadcast(evaluate_where(value, batch, take), n))
                result = pc.if_else(take, v, result)
            remaining = pc.and_(remaining, pc.invert(take))
        if pc.any(remaining).as_py():
            d = as_array(broadcast(evaluate_where(default, batch, remaining), n))
            result = pc.if_else(remaining, d, result)
        return result

    deterministic = all(c.deterministic for c in [*conds, *values, default])
    return CompiledExpr(lazy, result_type, sql, deterministic=deterministic, may_fail=True)


def _case(e: exp.Case, scope: Scope) -> CompiledExpr:
    operand_node = e.this
    operand = compile_node(operand_node, scope) if operand_node is not None else None
    conds: list[CompiledExpr] = []
    values: list[CompiledExpr] = []
    for branch in e.args.get("ifs") or []:
        when = compile_node(branch.this, scope)
        if operand is not None:
            a, b = comparison_operands("CASE", operand, when, scope)
            cond = make(lambda v: pc.equal(v[0], v[1]), [a, b], BOOLEAN, branch.this.sql()) \
                if not (is_null(a.flink_type) or is_null(b.flink_type)) \
                else constant(pa.scalar(None, pa.bool_()), BOOLEAN, "NULL")
        else:
            cond = boolean_operand(when, "CASE WHEN")
        conds.append(cond)
        values.append(compile_node(branch.args["true"], scope))
    default_node = e.args.get("default")
    default = compile_node(default_node, scope) if default_node is not None else \
        constant(pa.scalar(None, pa.null()), NULL, "NULL")
    return _build_case(conds, values, default, e.sql(), scope)


def _if(e: exp.If, scope: Scope) -> CompiledExpr:
    cond = boolean_operand(compile_node(e.this, scope), "IF")
    true = compile_node(e.args["true"], scope)
    false_node = e.args.get("false")
    false = compile_node(false_node, scope) if false_node is not None else \
        constant(pa.scalar(None, pa.null()), NULL, "NULL")
    return _build_case([cond], [true], false, e.sql(), scope, what="IF")


def _coalesce(e: exp.Coalesce, scope: Scope) -> CompiledExpr:
    args = [compile_node(x, scope) for x in [e.this, *(e.expressions or [])]]
    result_type = _branch_type("COALESCE", args)
    if is_null(result_type):
        return constant(pa.scalar(None, pa.null()), NULL, e.sql())
    args = [coerce(a, result_type, scope) for a in args]
    target = arrow_type(result_type)
    return make(lambda v: pc.coalesce(*[pc.cast(x, target) for x in v]), args, result_type,
                e.sql())


def _nullif(e: exp.Nullif, scope: Scope) -> CompiledExpr:
    first = compile_node(e.this, scope)
    second = compile_node(e.expression, scope)
    a, b = comparison_operands("NULLIF", first, second, scope)
    result_type = first.flink_type
    target = arrow_type(result_type)
    if is_null(a.flink_type) or is_null(b.flink_type):
        return first

    def kernel(v: list[Value]) -> Value:
        same = pc.fill_null(pc.equal(v[1], v[2]), False)
        return pc.if_else(same, pa.scalar(None, target), pc.cast(v[0], target))

    return make(kernel, [first, a, b], result_type, e.sql())


DISPATCH: list[tuple[type, Callable[[exp.Expression, Scope], CompiledExpr]]] = [
    (exp.Case, _case),
    (exp.If, _if),
    (exp.Coalesce, _coalesce),
    (exp.Nullif, _nullif),
]
