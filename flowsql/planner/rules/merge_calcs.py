"""Rule: fold adjacent Calcs and drop identity Calcs.

``Calc(p2, c2)`` over ``Calc(p1, c1)`` becomes one Calc when the outer one only renames or
reorders plain column references of the inner one's output and has no condition (the common
shape after view inlining and aggregation pre-projections); a Calc that passes its input
unchanged is removed.

Example::

    Calc(select=[a AS x])                 Calc(select=[a AS x], where=[a > 1])
    +- Calc(select=[a, b], where=[a > 1])  →   +- Scan(...)
       +- Scan(...)
"""

from __future__ import annotations

from sqlglot import exp

from flowsql.planner.logical import Calc, LogicalNode
from flowsql.planner.rules import RuleContext, bottom_up
from flowsql.planner.rules.refs import parse


def _plain(expr: str) -> str | None:
    e = parse(expr)
    if isinstance(e, exp.Column) and not e.table:
        return e.name
    return None


def _fold(node: LogicalNode) -> LogicalNode:
    if not isinstance(node, Calc):
        return node
    if node.is_identity:
        return node.input
    inner = node.input
    if not isinstance(inner, Calc) or node.condition is not None:
        return node
    inner_exprs = dict(inner.projections)
    merged = []
    for name, e in node.projections:
        ref = _plain(e)
        if ref is None or ref not in inner_exprs:
            return node
        merged.append((name, inner_exprs[ref]))
    return Calc(schema=node.schema, input=inner.input, projections=tuple(merged), condition=inner.condition)


def apply(plan: LogicalNode, ctx: RuleContext) -> LogicalNode:
    return bottom_up(plan, _fold)
