"""Top-N and deduplication: ``ROW_NUMBER() OVER (PARTITION BY … ORDER BY …)`` in a subquery
whose outer block filters on the row number → a :class:`Rank` node (Flink's ``FlinkLogicalRank``
and ``StreamPhysicalDeduplicate``).

Contract:
- :func:`plan_ranked` recognises the pattern on the outer SELECT::

    SELECT … FROM (SELECT …, ROW_NUMBER() OVER (PARTITION BY p… ORDER BY o…) AS rn FROM x) [AS a]
    WHERE rn <= N [AND …]

  The rank range comes from the WHERE conjuncts comparing the row number with integer
  literals (``rn <= N``, ``rn < N``, ``rn = N``, ``rn >= M``, ``rn > M``, ``rn BETWEEN M AND
  N``, either side); the other conjuncts stay a filter over the result. An upper bound is
  required (Flink plans anything else as an OVER aggregation, which needs a time-attribute
  order). The rest of the outer SELECT (projection, GROUP BY, …) is planned as usual over the
  Rank's output.
- When the outer block does not read the row number, the Rank does not output it (Flink's
  "no rank number" optimisation: shifts inside the top-N emit nothing). With rank range 1..1
  and one sort key that is an event-time attribute, the Rank is a deduplication (EXPLAIN says
  ``Deduplicate``; ``ORDER BY ts DESC`` keeps the last row, ties going to the latest
  arrival). Both emit a changelog, as Flink's row-time deduplication does (an earlier row
  arriving later replaces the kept first row).
- PARTITION BY / ORDER BY expressions that are not plain columns of the subquery are
  computed as hidden columns ``$rank<i>`` and projected away after the Rank.
- ``RANK()`` / ``DENSE_RANK()`` fail as in Flink (its streaming Rank takes ROW_NUMBER only);
  a ranking function anywhere else fails with NotSupportedError (:func:`reject_windows`).
- With ``window_start`` and ``window_end`` among the partition columns, over a window TVF
  (``FROM TABLE(TUMBLE(...))``) or a window aggregation, the node is a window Top-N
  (:mod:`flowsql.planner.window_ranking`).
- The Rank node translates to one ``rank`` operator (:mod:`flowsql.operators.rank`),
  hash-partitioned on the partition columns (parallelism 1 without them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.operators.rank import RankSpec
from flowsql.planner.aggregates import col, sql
from flowsql.planner.appending import AppendingNode
from flowsql.planner.joins import _position
from flowsql.planner.logical import Calc, Field, LogicalNode, names

if TYPE_CHECKING:
    from flowsql.planner.builder import PlanBuilder, Relation

RANKING = ("ROW_NUMBER", "RANK", "DENSE_RANK")
HIDDEN = "$rank"


def _function_name(w: exp.Window) -> str:
    inner = w.this
    if isinstance(inner, exp.RowNumber):
        return "ROW_NUMBER"
    if isinstance(inner, exp.Anonymous):
        return inner.name.upper()
    return inner.sql_name().upper() if isinstance(inner, exp.Func) else type(inner).__name__.upper()


@dataclass(frozen=True, eq=False)
class Rank(AppendingNode):
    """Top-N over ``input``: the input columns (plus the row number, when output)."""

    spec: RankSpec = field(default=None)  # type: ignore[assignment]
    deduplicate: bool = False

    updating = True  # changelog.first_updating names it

    def label(self) -> str:
        s = self.spec
        keys = ", ".join(s.partition_keys)
        if self.deduplicate:
            keep = "LastRow" if s.keep_last else "FirstRow"
            return f"Deduplicate(keep=[{keep}], key=[{keys}], order=[ROWTIME {s.order[0][0]}])"
        order = ", ".join(f"{c} {'DESC' if d else 'ASC'} NULLS {'FIRST' if n else 'LAST'}"
                          for c, d, n in s.order)
        parts = ["rankType=[ROW_NUMBER]", f"rankRange=[rankStart={s.rank_start}, rankEnd={s.rank_end}]",
                 f"partitionBy=[{keys}]", f"orderBy=[{order}]", f"select=[{', '.join(names(self.schema))}]"]
        return f"Rank({', '.join(parts)})"

    def changelog_mode(self, ins: list[str]) -> str:
        return "retract"

    def reads(self) -> set[str]:
        """Partition and sort columns (rows equal on those are interchangeable)."""
        return set(self.spec.partition_keys) | {c for c, _, _ in self.spec.order}

    def translate(self, b: Any) -> Any:
        from flowsql.planner.changelog import APPEND
        from flowsql.planner.translate import _schema_json

        params = {"spec": self.spec.to_dict(), "input": _schema_json(self.input.schema),
                  "append_only": b.modes.get(id(self.input), APPEND) == APPEND}
        return self.operator(b, "rank", "Deduplicate" if self.deduplicate else "Rank", params,
                             self.spec.partition_keys)


# -- recognising the pattern ------------------------------------------------------------------
def _ranking_item(select: exp.Select) -> tuple[int, exp.Window, str] | None:
    for i, e in enumerate(select.expressions):
        inner = e.this if isinstance(e, exp.Alias) else e
        if isinstance(inner, exp.Window) and _function_name(inner) in RANKING:
            name = e.alias if isinstance(e, exp.Alias) else f"EXPR${i}"
            return i, inner, name
    return None


def reject_windows(select: exp.Select) -> None:
    """NotSupportedError for a ranking function left in the select list (OVER aggregations
    are planned by :mod:`flowsql.planner.over`)."""
    for e in select.expressions:
        for w in e.find_all(exp.Window):
            name = _function_name(w)
            if name in RANKING:
                raise NotSupportedError(
                    f"{name}() OVER (Top-N / deduplication) without a filter on the row number"
                    f"{_position(w)}",
                    hint="filter it in an outer query: SELECT * FROM (SELECT *, ROW_NUMBER() OVER "
                    "(PARTITION BY … ORDER BY …) AS rn FROM t) WHERE rn <= 3",
                )


def plan_ranked(b: PlanBuilder, select: exp.Select, top: bool) -> Relation | None:
    """Plan ``select`` when it is the outer block of a Top-N (see the module contract)."""
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is None or not isinstance(from_.this, exp.Subquery) or select.args.get("joins"):
        return None
    sub = from_.this
    inner = sub.this
    if not isinstance(inner, exp.Select):
        return None
    found = _ranking_item(inner)
    if found is None:
        return None
    index, window, rn = found
    function = _function_name(window)
    if function != "ROW_NUMBER":
        raise NotSupportedError(f"{function}() on a streaming table (as in Flink, Top-N ranks "
                                f"with ROW_NUMBER() only){_position(window)}", hint="use ROW_NUMBER()")
    if inner.args.get("group") or inner.args.get("having"):
        raise NotSupportedError("ROW_NUMBER() OVER in an aggregating query block",
                                hint="aggregate in a subquery, rank in the block above it")
    alias = sub.alias
    where = select.args.get("where")
    rest, low, high = _rank_range(where.this if where is not None else None, rn, alias)
    if high is None:
        raise NotSupportedError(
            f"ROW_NUMBER() OVER without an upper bound on the row number{_position(window)}",
            hint=f"filter it: WHERE {rn} <= N (Top-N) or {rn} = 1 (deduplication)",
        )
    if low > high:
        raise ValidationError(f"the row number filter on {rn} selects no rows ({low} > {high})")
    outer = select.copy()
    outer.set("where", exp.Where(this=exp.and_(*rest)) if rest else None)
    numbered = _reads(outer, rn, alias)
    rel = _rank_relation(b, inner, index, window, rn if numbered else None, low, high)
    rel.aliases = {alias} if alias else set()
    return b._select(outer, top, rel=rel)


def _rank_range(cond: exp.Expression | None, rn: str, alias: str) -> tuple[list[exp.Expression], int, int | None]:
    """Split a WHERE into the rank range on ``rn`` and the other conjuncts."""
    low, high = 1, None
    rest: list[exp.Expression] = []

    def is_rn(e: exp.Expression) -> bool:
        return isinstance(e, exp.Column) and e.name == rn and e.table in ("", alias)

    def number(e: exp.Expression) -> int | None:
        if isinstance(e, exp.Literal) and not e.is_string and e.this.lstrip("-").isdigit():
            return int(e.this)
        return None

    flip = {exp.LT: exp.GT, exp.LTE: exp.GTE, exp.GT: exp.LT, exp.GTE: exp.LTE, exp.EQ: exp.EQ}
    for c in (cond.flatten() if isinstance(cond, exp.And) else ([cond] if cond is not None else [])):
        c = c.unnest() if isinstance(c, exp.Paren) else c
        if isinstance(c, exp.Between) and is_rn(c.this) and number(c.args["low"]) is not None \
                and number(c.args["high"]) is not None:
            low, high = max(low, number(c.args["low"])), _min(high, number(c.args["high"]))
            continue
        kind = type(c)
        if kind in flip:
            left, right = c.this, c.expression
            if is_rn(right) and number(left) is not None:
                left, right, kind = right, left, flip[kind]
            n = number(right)
            if is_rn(left) and n is not None:
                if kind in (exp.LTE, exp.EQ):
                    high = _min(high, n)
                if kind is exp.LT:
                    high = _min(high, n - 1)
                if kind in (exp.GTE, exp.EQ):
                    low = max(low, n)
                if kind is exp.GT:
                    low = max(low, n + 1)
                continue
        rest.append(c)
    return rest, low, high


def _min(a: int | None, b: int) -> int:
    return b if a is None else min(a, b)


def _reads(outer: exp.Select, rn: str, alias: str) -> bool:
    """Whether the outer block (with the rank filter removed) reads ``rn``."""
    for e in outer.expressions:
        if isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star)):
            return True
    for key in ("expressions", "where", "group", "having", "order"):
        value = outer.args.get(key)
        for part in value if isinstance(value, list) else [value]:
            if part is not None and any(c.name == rn and c.table in ("", alias)
                                        for c in part.find_all(exp.Column)):
                return True
    return False


def _rank_relation(b: PlanBuilder, inner: exp.Select, index: int, window: exp.Window,
                   rank_column: str | None, low: int, high: int) -> Relation:
    from flowsql.planner.builder import Relation, _merge_calc

    partition = list(window.args.get("partition_by") or [])
    order = window.args.get("order")
    ordered = list(order.expressions) if order is not None else []
    if not ordered:
        raise ValidationError("ROW_NUMBER() OVER needs an ORDER BY (Top-N ranks by it)")
    # 1. the inner block without the ranking item, plus hidden sort / partition columns
    plain = inner.copy()
    items = [e for i, e in enumerate(plain.expressions) if i != index]
    exprs = [p for p in partition] + [o.this for o in ordered]
    hidden = [f"{HIDDEN}{i}" for i in range(len(exprs))]
    items += [exp.alias_(e.copy(), h, quoted=True) for e, h in zip(exprs, hidden, strict=True)]
    plain.set("expressions", items)
    from flowsql.planner import window_ranking
    from flowsql.sql.expressions import WindowTVF

    from_ = plain.args.get("from_") or plain.args.get("from")
    if from_ is not None and isinstance(from_.this, WindowTVF) and not plain.args.get("joins"):
        base = b._select(plain, False, rel=window_ranking.window_relation(b, from_.this))
    else:
        base = b._query(plain, top=False)
    node = base.node
    # 2. hidden columns equal to a visible one are that one
    shown = [n for n in names(node.schema) if n not in hidden]
    texts = dict(node.projections) if isinstance(node, Calc) else {}
    use: dict[str, str] = {}
    for h in hidden:
        same = [n for n in shown if texts.get(n) is not None and texts.get(n) == texts.get(h)]
        use[h] = same[0] if same else h
    kept = shown + [h for h in hidden if use[h] == h]
    if len(kept) < len(node.schema):
        types = {f.name: f for f in node.schema}
        node = _merge_calc(Calc(schema=tuple(types[n] for n in kept), input=node,
                                projections=tuple((n, sql(col(n))) for n in kept)))
    keys = tuple(use[h] for h in hidden[: len(partition)])
    sort = tuple((use[h], bool(o.args.get("desc")), bool(o.args.get("nulls_first")))
                 for h, o in zip(hidden[len(partition):], ordered, strict=True))
    dedup = (rank_column is None and low == high == 1 and len(sort) == 1
             and sort[0][0] in base.time_attrs)
    spec = RankSpec(keys, sort, low, high, rank_column, keep_last=dedup and sort[0][1])
    schema = node.schema + ((Field(rank_column, "BIGINT NOT NULL"),) if rank_column else ())
    end = window_ranking.window_end_column(node, keys)
    rank: LogicalNode = Rank(schema=schema, input=node, spec=spec, deduplicate=dedup) if end is None \
        else window_ranking.WindowRank(schema=schema, input=node, spec=spec, deduplicate=dedup, window_end=end)
    # 3. hidden columns leave after the Rank
    if any(use[h] == h for h in hidden):
        out = [f for f in rank.schema if not f.name.startswith(HIDDEN)]
        rank = Calc(schema=tuple(out), input=rank, projections=tuple((f.name, sql(col(f.name))) for f in out))
    return Relation(rank)
