"""Rule: push a filter into the Scan below it.

A Calc whose input is a Scan hands its condition to the Scan (``Scan.filter``); the source's
first operator then applies it right after computing computed columns, before any other
projection, so rows that do not qualify are dropped as early as possible. A filter above a
UNION ALL is pushed into every branch (each branch gets its own Calc).

Example::

    Calc(select=[a], where=[b > 1])      Calc(select=[a])
    +- Scan(table=[t], fields=[a, b])  →  +- Scan(table=[t], fields=[a, b], where=[b > 1])
"""

from __future__ import annotations

from flowsql.planner.logical import Calc, LogicalNode, Scan, Union, names
from flowsql.planner.rules import RuleContext, bottom_up


def _push(node: LogicalNode) -> LogicalNode:
    if not isinstance(node, Calc) or node.condition is None:
        return node
    inner = node.input
    if isinstance(inner, Scan):
        cond = node.condition if inner.filter is None else f"({inner.filter}) AND ({node.condition})"
        scan = inner.replace(filter=cond)
        calc = Calc(schema=node.schema, input=scan, projections=node.projections)
        return scan if calc.is_identity else calc
    if isinstance(inner, Union):
        kids = []
        for kid in inner.children:
            # branch columns are positionally the union's columns, renamed
            rename = dict(zip(names(inner.schema), names(kid.schema), strict=True))
            if any(k != v for k, v in rename.items()):
                return node
            kids.append(_push(Calc(schema=kid.schema, input=kid, projections=_ids(kid), condition=node.condition)))
        union = inner.replace(children=tuple(kids))
        calc = Calc(schema=node.schema, input=union, projections=node.projections)
        return union if calc.is_identity else calc
    return node


def _ids(node: LogicalNode) -> tuple[tuple[str, str], ...]:
    from flowsql.planner.aggregates import col, sql

    return tuple((f.name, sql(col(f.name))) for f in node.schema)


def apply(plan: LogicalNode, ctx: RuleContext) -> LogicalNode:
    return bottom_up(plan, _push)
