"""Scalar subqueries in a SELECT list or WHERE clause, as Flink plans them: a LEFT join of the
query with a one-row (or one-row-per-key) aggregation.

Contract (:func:`plan_scalar_subqueries`, called by the builder after FROM and its joins,
before WHERE):
- A scalar subquery is a ``(SELECT <one expression> ...)`` used as a value in the WHERE
  condition or the select list of this SELECT (not the query of an ``IN`` / ``EXISTS``:
  :mod:`flowsql.planner.subqueries`). Anywhere else (HAVING, ON, GROUP BY) it stays a
  NotSupportedError (:mod:`flowsql.planner.validate`).
- Uncorrelated, aggregating without GROUP BY (``(SELECT AVG(price) FROM bid)``): one row.
  The query is LEFT joined on a constant key with ``SELECT COUNT(*) * 0 AS sq$<i>z, <expr> AS
  sq$<i>v FROM ...`` (an updating global aggregation), and the subquery becomes the column
  ``sq$<i>v``. The output is an updating changelog: when the aggregate changes, the joined
  rows are retracted and emitted again.
- Correlated (``(SELECT MAX(b2.price) FROM bid b2 WHERE b2.auction = b.auction)``): the
  subquery reads one FROM item, without joins, GROUP BY, HAVING, DISTINCT, ORDER BY or LIMIT;
  its WHERE conjuncts that read the outer query's columns (qualified by an outer table name or
  alias) must be equalities ``<inner expression> = <outer expression>``. It is decorrelated
  into ``SELECT <inner expressions> AS sq$<i>k<j>, <agg> AS sq$<i>v FROM ... WHERE <the other
  conjuncts> GROUP BY <inner expressions>``, LEFT joined on ``<outer expression> = sq$<i>k<j>``
  (a NULL outer key matches nothing, as the correlated equality is never true for it).
- The selected expression must be NULL over no rows, as the join gives NULL when no row (or
  no row of the key) exists: a bare aggregate call (``COUNT`` becomes ``COALESCE(.., 0)``,
  its value over no rows), or for uncorrelated subqueries arithmetic and CASTs over
  aggregates other than COUNT, and literals. Anything else is a NotSupportedError, and so is
  a subquery that can return several rows (no aggregate, or GROUP BY): Flink fails such a
  query at run time when it sees a second row; FlowSQL refuses it while planning.
- The join's extra columns are named ``sq$<i>...`` and are not part of ``SELECT *``
  (:data:`HIDDEN_PREFIX`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from flowsql.errors import NotSupportedError
from flowsql.planner.aggregates import agg_name, contains_aggregate
from flowsql.planner.joins import _conjuncts, plan_join
from flowsql.planner.subqueries import _any_column, _col, _item, _outer_names, _unparen, _zero

if TYPE_CHECKING:
    from flowsql.planner.builder import PlanBuilder, Relation

HIDDEN_PREFIX = "sq$"  # not "$...": aggregation outputs may not start with "$"
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg, exp.Paren, exp.Cast, exp.Literal)
_HINT = ("select one aggregate, e.g. (SELECT MAX(price) FROM bid b2 WHERE b2.auction = "
         "b.auction), or use IN / EXISTS, or a join")


def scalar_subqueries(select: exp.Select) -> list[exp.Subquery]:
    """The scalar subqueries in ``select``'s WHERE and select list (not nested deeper)."""
    found = []
    for part in [select.args.get("where"), *select.expressions]:
        if part is None:
            continue
        for node in part.find_all(exp.Subquery):
            if _is_scalar(node, select):
                found.append(node)
    return found


def _is_scalar(node: exp.Subquery, select: exp.Select) -> bool:
    parent = node.parent
    if isinstance(parent, exp.In) and parent.args.get("query") is node:
        return False
    if isinstance(parent, exp.Exists | exp.From | exp.Join):
        return False
    p = node.parent
    while p is not None and not isinstance(p, exp.Select):  # the nearest enclosing SELECT
        p = p.parent
    return p is select


def plan_scalar_subqueries(b: PlanBuilder, rel: Relation,
                           select: exp.Select) -> tuple[Relation, exp.Select]:
    """``rel`` LEFT joined with each scalar subquery of ``select``; ``select`` (a copy) reads
    their values as columns."""
    select = select.copy()
    subs = scalar_subqueries(select)
    if not subs:
        return rel, select
    if rel.window is not None:
        raise NotSupportedError("scalar subqueries over a window TVF aggregation")
    for node in subs:
        rel, value = _plan_one(b, rel, node)
        node.replace(value)
    return rel, select


def _name(b: PlanBuilder) -> str:
    n = getattr(b, "_scalar_subqueries", 0)
    b._scalar_subqueries = n + 1  # type: ignore[attr-defined]
    return f"{HIDDEN_PREFIX}{n}"


def _plan_one(b: PlanBuilder, rel: Relation, node: exp.Subquery) -> tuple[Relation, exp.Expression]:
    sub = _unparen(node.this)
    while isinstance(sub, exp.Subquery):
        sub = _unparen(sub.this)
    what = f"the scalar subquery ({node.this.sql(dialect='flink')})"
    if not isinstance(sub, exp.Select) or len(sub.expressions) != 1:
        raise NotSupportedError(f"{what}: a scalar subquery selects exactly one expression",
                                hint=_HINT)
    item = sub.expressions[0]
    expr = item.this if isinstance(item, exp.Alias) else item
    if not contains_aggregate(expr) or sub.args.get("group") or sub.args.get("having"):
        raise NotSupportedError(f"{what} may return more than one row (it is not an aggregate "
                                "without GROUP BY)", hint=_HINT)
    name = _name(b)
    z, v = f"{name}z", f"{name}v"
    correlated, local, inner_names, outer = _split_where(rel, sub)
    bare = agg_name(expr) is not None and expr.find(exp.Window) is None
    if not bare and (correlated or not _null_on_empty(expr)):
        raise NotSupportedError(f"{what}: only a single aggregate call (or arithmetic over "
                                "aggregates other than COUNT, uncorrelated) is supported",
                                hint=_HINT)
    if not correlated:
        right = sub.copy()
        count = exp.Count(this=exp.Star())
        right.set("expressions", [exp.alias_(exp.Mul(this=count, expression=exp.Literal.number(0)),
                                             z, quoted=True),
                                  exp.alias_(expr.copy(), v, quoted=True)])
        on: exp.Expression = exp.EQ(this=_zero(_any_column(b, rel)), expression=_col(z, name))
    else:
        right, on = _decorrelate(b, sub, expr, correlated, local, (inner_names, outer), name, v,
                                 what)
    joined = plan_join(b, rel, exp.Join(this=_item(right, name), on=on), (None, None),
                       join_type="LEFT")
    joined.aliases = set(rel.aliases)
    value: exp.Expression = _col(v, name)
    if isinstance(expr, exp.Count):  # COUNT over no rows is 0, not NULL
        value = exp.Coalesce(this=value, expressions=[exp.Literal.number(0)])
    return joined, exp.Paren(this=value)


def _split_where(rel: Relation, sub: exp.Select
                 ) -> tuple[list[exp.Expression], list[exp.Expression], set[str], set[str]]:
    """(correlated conjuncts, local conjuncts, the subquery's FROM names, the outer names)."""
    outer = _outer_names(rel)
    from_ = sub.args.get("from_") or sub.args.get("from")
    inner_names: set[str] = set()
    if from_ is not None:
        items = [from_.this, *[j.this for j in sub.args.get("joins") or []]]
        inner_names = {i.alias_or_name for i in items}
    where = sub.args.get("where")
    correlated, local = [], []
    for c in (_conjuncts(where.this) if where is not None else []):
        if _reads_outer(c, outer, inner_names):
            correlated.append(c)
        else:
            local.append(c)
    return correlated, local, inner_names, outer


def _reads_outer(e: exp.Expression, outer: set[str], inner_names: set[str]) -> bool:
    return any(c.table in outer and c.table not in inner_names for c in e.find_all(exp.Column))


def _decorrelate(b: PlanBuilder, sub: exp.Select, expr: exp.Expression,
                 correlated: list[exp.Expression], local: list[exp.Expression],
                 scopes: tuple[set[str], set[str]], name: str, v: str,
                 what: str) -> tuple[exp.Select, exp.Expression]:
    inner_names, outer = scopes
    from_ = sub.args.get("from_") or sub.args.get("from")
    if from_ is None or sub.args.get("joins"):
        raise NotSupportedError(f"{what}: a correlated scalar subquery reads one table",
                                hint="move the join into a view or a subquery in its FROM clause")
    if any(sub.args.get(k) for k in ("distinct", "limit", "order")):
        raise NotSupportedError(f"{what}: a correlated scalar subquery with DISTINCT, ORDER BY "
                                "or LIMIT")
    inner_alias = from_.this.alias_or_name
    inner_cols = set(b._relation(from_.this.copy()).columns)
    keys, on_parts = [], []
    for i, c in enumerate(correlated):
        c = _unparen(c.copy())
        for column in c.find_all(exp.Column):  # unqualified: the subquery's when it has it
            if not column.table and column.name in inner_cols:
                column.set("table", exp.to_identifier(inner_alias))
        sides = (c.this, c.expression) if isinstance(c, exp.EQ) else ()
        pick = [s for s in sides if not _reads_outer(s, outer, inner_names)]
        other = [s for s in sides if _reads_outer(s, outer, inner_names)]
        if len(pick) != 1 or len(other) != 1 or any(
                col.table in inner_names for col in other[0].find_all(exp.Column)):
            raise NotSupportedError(
                f"{what}: a correlated condition must be an equality of a subquery expression "
                f"and an outer expression, not {c.sql(dialect='flink')}", hint=_HINT)
        k = f"{name}k{i}"
        keys.append(exp.alias_(pick[0].copy(), k, quoted=True))
        on_parts.append(exp.EQ(this=other[0].copy(), expression=_col(k, name)))
    right = exp.select(*keys, exp.alias_(expr.copy(), v, quoted=True)).from_(from_.this.copy())
    if local:
        right = right.where(exp.and_(*[c.copy() for c in local]))
    right = right.group_by(*[k.this.copy() for k in keys])
    return right, exp.and_(*on_parts)


def _null_on_empty(e: exp.Expression) -> bool:
    """Arithmetic / CAST over aggregates other than COUNT, and literals: NULL over no rows."""
    name = agg_name(e)
    if name is not None:
        return name != "COUNT" and not isinstance(e, exp.Filter)
    if not isinstance(e, _ARITHMETIC):
        return False
    if isinstance(e, exp.Cast):
        return _null_on_empty(e.this)
    return all(_null_on_empty(c) for c in e.iter_expressions() if not isinstance(c, exp.DataType))
