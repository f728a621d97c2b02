"""``IN`` / ``EXISTS`` subqueries in WHERE as streaming semi and anti joins.

Contract:
- :func:`split_subqueries` separates a WHERE condition's AND-ed conjuncts into the plain ones
  and the subquery predicates: ``x [NOT] IN (SELECT y ...)`` and ``[NOT] EXISTS (SELECT
  ...)``. Elsewhere (under OR, in the select list, HAVING or ON) they stay a
  NotSupportedError (:mod:`flowsql.planner.validate`).
- :func:`plan_subqueries` turns each predicate into a join of the relation (left) with the
  subquery (right) of type SEMI (``IN``, ``EXISTS``) or ANTI (``NOT EXISTS``, ``NOT IN``),
  planned by :func:`flowsql.planner.joins.plan_join` and run by the regular join operator
  (its SEMI / ANTI modes): the output is the left rows, a changelog when either input is
  updating (or always for ANTI: a row leaves when its first match arrives). The relation keeps
  its columns and names.
  - ``x IN (SELECT y ...)``: SEMI on ``x = y`` (a NULL never matches).
  - ``EXISTS (SELECT ... FROM t WHERE <conjuncts>)``: the conjuncts that read the outer
    query's columns (qualified with an outer table name or alias) become the join condition
    (at least one equality, as for any streaming join); the others stay in the subquery.
    Correlated subqueries must read one FROM item, without GROUP BY, aggregates, DISTINCT or
    LIMIT. An unqualified column of a correlated conjunct is the subquery's when it has one.
    Without correlation the subquery is reduced to one row (``COUNT(*)``) that every left row
    matches while the subquery is not empty.
  - ``x NOT IN (SELECT y ...)``, with SQL's NULL semantics (a row stays when no ``y`` equals
    ``x`` and the comparison is never UNKNOWN): ANTI on ``x = y``, then ANTI against the
    subquery's ``COUNT(*)`` and ``COUNT(y)`` — a row goes when the subquery is not empty and
    holds a NULL, or when ``x`` is NULL.
- A subquery predicate over a pending window TVF aggregation is a NotSupportedError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from flowsql.errors import NotSupportedError
from flowsql.planner.joins import _conjuncts, plan_join
from flowsql.planner.logical import Calc, names

if TYPE_CHECKING:
    from flowsql.planner.builder import PlanBuilder, Relation


def _unparen(e: exp.Expression) -> exp.Expression:
    while isinstance(e, exp.Paren):
        e = e.this
    return e


def _predicate(c: exp.Expression) -> tuple[bool, exp.Expression] | None:
    """(negated, In/Exists) when the conjunct is a subquery predicate."""
    e, negated = _unparen(c), False
    if isinstance(e, exp.Not):
        e, negated = _unparen(e.this), True
    if (isinstance(e, exp.In) and e.args.get("query") is not None) or isinstance(e, exp.Exists):
        return negated, e
    return None


def split_subqueries(cond: exp.Expression) -> tuple[exp.Expression | None, list[tuple[bool, exp.Expression]]]:
    """(the plain conjuncts AND-ed, or None; the subquery predicates)."""
    plain, subs = [], []
    for c in _conjuncts(cond):
        p = _predicate(c)
        if p is None:
            plain.append(c)
        else:
            subs.append(p)
    return (exp.and_(*plain) if plain else None), subs


def plan_subqueries(b: PlanBuilder, rel: Relation, subs: list[tuple[bool, exp.Expression]]) -> Relation:
    if rel.window is not None:
        raise NotSupportedError("IN / EXISTS subqueries over a window TVF aggregation")
    for negated, e in subs:
        if isinstance(e, exp.In):
            rel = _in(b, rel, e, negated)
        else:
            rel = _exists(b, rel, e, negated)
    return rel


def _name(b: PlanBuilder, prefix: str) -> str:
    n = getattr(b, "_subqueries", 0)
    b._subqueries = n + 1  # type: ignore[attr-defined]
    return f"${prefix}{n}"


def _item(query: exp.Expression, alias: str, columns: list[str] | None = None) -> exp.Subquery:
    return exp.Subquery(this=query, alias=exp.TableAlias(
        this=exp.to_identifier(alias, quoted=True),
        columns=[exp.to_identifier(c, quoted=True) for c in columns or []]))


def _col(name: str, table: str) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True), table=exp.to_identifier(table, quoted=True))


def _filter_join(b: PlanBuilder, rel: Relation, item: exp.Expression, on: exp.Expression,
                 join_type: str) -> Relation:
    """``rel`` SEMI / ANTI joined with ``item`` on ``on``; the left columns only."""
    from flowsql.planner.aggregates import col, sql
    from flowsql.planner.builder import Relation

    left = b._materialize(rel)
    joined = plan_join(b, rel, exp.Join(this=item, on=on), (None, None), join_type=join_type)
    keep = [f for f in joined.node.schema if f.name in set(names(left.schema))]
    node = Calc(schema=tuple(keep), input=joined.node,
                projections=tuple((f.name, sql(col(f.name))) for f in keep))
    return Relation(node, set(rel.aliases), late_sink=rel.late_sink, qualified=rel.qualified,
                    unqualified=rel.unqualified, ambiguous=rel.ambiguous)


def _zero(x: exp.Expression) -> exp.Expression:
    """A constant 0 that reads ``x`` (a join key must read its input)."""
    return exp.Case(ifs=[exp.If(this=exp.Is(this=x.copy(), expression=exp.Null()),
                                true=exp.Literal.number(0))], default=exp.Literal.number(0))


def _any_column(b: PlanBuilder, rel: Relation) -> exp.Expression:
    node = b._materialize(rel)
    name = names(node.schema)[0]
    if rel.qualified is not None:  # a join: qualify through its name map
        q, n = next((q, n) for (q, n), out in rel.qualified.items() if out == name)
        return exp.column(n, table=q)
    return exp.column(exp.to_identifier(name, quoted=True))


def _counts(query: exp.Expression, value: exp.Expression | None) -> exp.Select:
    """``SELECT COUNT(*) * 0 AS $z, COUNT(*) AS $c[, COUNT(value) AS $cn] FROM (query)``."""
    star = exp.Count(this=exp.Star())
    items = [exp.alias_(exp.Mul(this=star, expression=exp.Literal.number(0)), "$z", quoted=True),
             exp.alias_(star.copy(), "$c", quoted=True)]
    if value is not None:
        items.append(exp.alias_(exp.Count(this=value), "$cn", quoted=True))
    return exp.select(*items).from_(query)


def _in(b: PlanBuilder, rel: Relation, e: exp.In, negated: bool) -> Relation:
    x = e.this
    if isinstance(_unparen(x), exp.Tuple):
        raise NotSupportedError("IN with a row of values: (a, b) IN (SELECT ...)")
    query = e.args["query"]
    query = query.this if isinstance(query, exp.Subquery) else query
    alias, value = _name(b, "sq"), _name(b, "in")
    on = exp.EQ(this=x.copy(), expression=_col(value, alias))
    rel = _filter_join(b, rel, _item(query.copy(), alias, [value]), on, "ANTI" if negated else "SEMI")
    if not negated:
        return rel
    # NOT IN: also gone while the subquery holds a NULL, and for a NULL x unless it is empty
    counts, inner = _name(b, "sqn"), _name(b, "s")
    agg = _counts(_item(query.copy(), inner, [value]), exp.column(exp.to_identifier(value, quoted=True)))
    on = exp.and_(
        exp.EQ(this=_zero(x), expression=_col("$z", counts)),
        exp.GT(this=_col("$c", counts), expression=exp.Literal.number(0)),
        exp.Paren(this=exp.or_(exp.LT(this=_col("$cn", counts), expression=_col("$c", counts)),
                               exp.Is(this=x.copy(), expression=exp.Null()))))
    return _filter_join(b, rel, _item(agg, counts), on, "ANTI")


def _outer_names(rel: Relation) -> set[str]:
    names_ = set(rel.aliases)
    if rel.qualified is not None:
        names_ |= {q for q, _ in rel.qualified}
    return names_


def _exists(b: PlanBuilder, rel: Relation, e: exp.Exists, negated: bool) -> Relation:
    sub = _unparen(e.this)
    sub = sub.this if isinstance(sub, exp.Subquery) else sub
    join_type = "ANTI" if negated else "SEMI"
    outer = _outer_names(rel)
    where = sub.args.get("where")
    correlated, local = [], []
    from_ = sub.args.get("from_") if isinstance(sub, exp.Select) else None
    inner_names: set[str] = set()
    if from_ is not None:
        items = [from_.this, *[j.this for j in sub.args.get("joins") or []]]
        inner_names = {i.alias_or_name for i in items}
    for c in (_conjuncts(where.this) if where is not None else []):
        reads_outer = any(col.table in outer and col.table not in inner_names
                          for col in c.find_all(exp.Column))
        (correlated if reads_outer else local).append(c)
    if not correlated:  # one row (COUNT(*)) that every left row matches while not empty
        alias = _name(b, "sqe")
        agg = _counts(_item(sub.copy(), _name(b, "s")), None)
        on = exp.and_(exp.EQ(this=_zero(_any_column(b, rel)), expression=_col("$z", alias)),
                      exp.GT(this=_col("$c", alias), expression=exp.Literal.number(0)))
        return _filter_join(b, rel, _item(agg, alias), on, join_type)
    what = "a correlated EXISTS subquery"
    if not isinstance(sub, exp.Select) or from_ is None:
        raise NotSupportedError(f"{what} that is not a SELECT ... FROM ...")
    if sub.args.get("joins"):
        raise NotSupportedError(f"{what} over a join", hint="move the join into a view or a "
                                "subquery in its FROM clause")
    if any(sub.args.get(k) for k in ("group", "having", "distinct", "limit", "order")) or any(
            _aggregates(x) for x in sub.expressions):
        raise NotSupportedError(f"{what} with GROUP BY, aggregates, DISTINCT, ORDER BY or LIMIT")
    inner_alias = from_.this.alias_or_name
    # the subquery's own columns, to qualify the unqualified ones of correlated conjuncts
    inner_cols = set(b._relation(from_.this.copy()).columns)
    on_parts = []
    for c in correlated:
        c = c.copy()
        for column in c.find_all(exp.Column):
            if not column.table and column.name in inner_cols:
                column.set("table", exp.to_identifier(inner_alias))
        on_parts.append(c)
    inner = exp.select(exp.Star()).from_(from_.this.copy())
    if local:
        inner = inner.where(exp.and_(*[c.copy() for c in local]))
    return _filter_join(b, rel, _item(inner, inner_alias), exp.and_(*on_parts), join_type)


def _aggregates(e: exp.Expression) -> bool:
    from flowsql.planner.aggregates import contains_aggregate

    return contains_aggregate(e)
