"""``FROM a, b WHERE a.x = b.y AND ...``: the WHERE conditions of comma joins as their join
conditions, so that a comma join plans like ``a JOIN b ON ...`` (regular, interval or window
join), as in Flink (its interval join example is written this way).

Contract (:func:`comma_conditions`, a rewrite of the SELECT's AST before planning):
- A comma join is a join without ON, USING, side or kind. For the i-th comma join, the AND-ed
  WHERE conjuncts whose every column is qualified (``t.col``) with names of the FROM items up to
  and including it, at least one of them its own, move from WHERE into its ON.
- Conjuncts with an unqualified column or a subquery stay in WHERE; so does everything of a
  SELECT without comma joins. A comma join that gets no condition stays a cross join (which
  the streaming planner refuses, as before).
"""

from __future__ import annotations

from sqlglot import exp

from flowsql.planner.joins import _conjuncts


def _names(item: exp.Expression) -> set[str]:
    return {item.alias_or_name} if item.alias_or_name else set()


def _is_comma(join: exp.Join) -> bool:
    return not any(join.args.get(k) for k in ("on", "using", "side", "kind", "method"))


def comma_conditions(select: exp.Select) -> exp.Select:
    """``select`` (a copy when changed) with comma joins' conditions moved into their ON."""
    joins = select.args.get("joins") or []
    where = select.args.get("where")
    from_ = select.args.get("from_") or select.args.get("from")
    if where is None or from_ is None or not any(_is_comma(j) for j in joins):
        return select
    select = select.copy()
    joins = select.args["joins"]
    left = list(_conjuncts(select.args["where"].this))
    seen = _names(select.args.get("from_", from_).this)
    for join in joins:
        mine = _names(join.this)
        seen |= mine
        if not _is_comma(join):
            continue
        taken = []
        for c in left:
            columns = list(c.find_all(exp.Column))
            tables = {col.table for col in columns}
            if (columns and "" not in tables and tables <= seen and tables & mine and len(tables) > 1
                    and c.find(exp.Subquery, exp.Exists, exp.Select) is None):
                taken.append(c)
        if taken:
            join.set("on", exp.and_(*taken))
            left = [c for c in left if all(c is not t for t in taken)]
    select.set("where", exp.Where(this=exp.and_(*left)) if left else None)
    return select
