"""Rule: push the conjuncts of a filter above an INNER regular join that read one input only
into that input (as Flink's ``FlinkFilterJoinRule``), so that the join stores, probes and
emits fewer rows.

Contract:
- A Calc with a condition right above a regular :class:`~flowsql.planner.logical.Join` (not an
  interval or window join) of type INNER: each AND-ed conjunct that reads only left columns
  becomes part of a filter Calc over the left input; one that reads only right columns (named
  back to the right input's column names) a filter Calc over the right input. The other
  conjuncts stay above the join. An inner join's output is the same either way.
- A conjunct stays above the join when it reads no column, reads a nested field
  (``r.f``), or calls a non-deterministic built-in (``RAND``, ``UUID``, ``NOW``,
  ``CURRENT_…``, ``LOCALTIME…``, ``PROCTIME``, ``UNIX_TIMESTAMP``).
- The pushed filters then reach a Scan below them through :mod:`.filter_pushdown`.

Example::

    Calc(select=[a, y], where=[c = 10 AND b > y])      Calc(select=[a, y], where=[b > y])
    +- Join(where=[k = id])                        →   +- Join(where=[k = id])
       +- Scan(t1, fields=[a, b, k])                      +- Scan(t1, fields=[a, b, k])
       +- Scan(t2, fields=[id, c, y])                     +- Calc(where=[c = 10])
                                                             +- Scan(t2, ...)
"""

from __future__ import annotations

import re

from sqlglot import exp

from flowsql.planner.logical import Calc, Join, LogicalNode, names
from flowsql.planner.rules import RuleContext, bottom_up
from flowsql.planner.rules.refs import parse

VOLATILE = re.compile(r"\b(RAND|RAND_INTEGER|UUID|NOW|CURRENT_\w+|LOCALTIME\w*|PROCTIME|"
                       r"UNIX_TIMESTAMP)\b", re.IGNORECASE)


def _side(c: exp.Expression, left: set[str], right: set[str]) -> str | None:
    """'left' / 'right' when every column of ``c`` is a plain column of that side."""
    from flowsql.planner.aggregates import sql

    cols = list(c.find_all(exp.Column))
    if not cols or VOLATILE.search(sql(c)) or any(len(col.parts) != 1 for col in cols):
        return None
    used = {col.name for col in cols}
    if used <= left:
        return "left"
    if used <= right:
        return "right"
    return None


def _filtered(node: LogicalNode, conds: list[str]) -> LogicalNode:
    from flowsql.planner.aggregates import col, sql

    if not conds:
        return node
    return Calc(schema=node.schema, input=node,
                projections=tuple((f.name, sql(col(f.name))) for f in node.schema),
                condition=" AND ".join(f"({c})" for c in conds))


def _push(node: LogicalNode) -> LogicalNode:
    from flowsql.planner.aggregates import col, sql
    from flowsql.planner.joins import _conjuncts

    if not isinstance(node, Calc) or node.condition is None:
        return node
    join = node.input
    if type(join) is not Join or join.join_type != "INNER":
        return node
    lnames = set(names(join.left.schema))
    back = dict(zip(join.right_names, names(join.right.schema), strict=True))
    pushed: dict[str, list[str]] = {"left": [], "right": []}
    kept: list[exp.Expression] = []
    for c in _conjuncts(parse(node.condition).copy()):
        side = _side(c, lnames, set(back))
        if side is None:
            kept.append(c)
            continue
        if side == "right":
            if isinstance(c, exp.Column):  # a BOOLEAN column alone
                c = col(back[c.name])
            for column in list(c.find_all(exp.Column)):
                column.replace(col(back[column.name]))
        pushed[side].append(sql(c))
    if not pushed["left"] and not pushed["right"]:
        return node
    new_join = join.replace(left=_filtered(join.left, pushed["left"]),
                            right=_filtered(join.right, pushed["right"]))
    condition = sql(kept[0] if len(kept) == 1 else exp.and_(*kept)) if kept else None
    calc = Calc(schema=node.schema, input=new_join, projections=node.projections,
                condition=condition)
    return new_join if calc.is_identity else calc


def apply(plan: LogicalNode, ctx: RuleContext) -> LogicalNode:
    return bottom_up(plan, _push)
