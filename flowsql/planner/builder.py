"""Statement AST + catalog → logical plan (streaming mode).

Contract:
- :class:`PlanBuilder` (a catalog and the session config) plans a query
  (:meth:`PlanBuilder.query` → :class:`~flowsql.planner.logical.Sink` to the client) or an
  ``INSERT`` (:meth:`PlanBuilder.insert` → ``Sink`` into the target table, with the query's
  columns mapped to the target's column list and implicitly CAST to the sink's declared
  types; unlisted target columns are NULL).
- Relations: catalog tables (→ :class:`Scan` carrying computed columns and the watermark),
  views (inlined, recursively; cycles → ValidationError), subqueries in FROM, window TVFs
  (``TABLE(TUMBLE(...))`` — the window is applied by the GROUP BY that follows; without
  one, by a window table function: :mod:`flowsql.planner.window_joins`), UNION ALL, ``WITH``
  (:mod:`flowsql.planner.ctes`).
- Every expression is compiled against its input's schema while planning
  (:func:`flowsql.expr.compile.compile_expression`): unknown columns and type errors surface
  here as ValidationError, and output types are the compiler's.
- Joins (INNER / LEFT / RIGHT / FULL: regular, interval and window joins) are planned by
  :mod:`flowsql.planner.joins`.
- Unsupported constructs fail here with NotSupportedError naming them (OVER, Top-N,
  LIMIT on unbounded input, ...); see :mod:`flowsql.planner.validate`.
- ``ORDER BY`` / ``LIMIT`` of the top-level query are returned in :attr:`PlanBuilder.client`
  (applied to a bounded result by the session); streaming ORDER BY on a non-time column is a
  ValidationError.
- ``/*+ STATE_TTL(...) */`` hints (:mod:`flowsql.planner.hints`) are validated before
  anything else; the group aggregation of a hinted block carries the TTL
  (``GroupAggregate.state_ttl_ms``). A hinted block without one adds a line to
  :attr:`PlanBuilder.warnings` (the hint has no effect there).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlglot import exp

from catalog.table import TableDefinition, ViewDefinition
from flowsql.errors import NotSupportedError, ValidationError
from flowsql.operators.python_group_aggregate import check_planned as check_python_aggregates
from flowsql.operators.specs import GroupAggregateSpec, WindowAggregateSpec, WindowSpec
from flowsql.planner import validate as checks
from flowsql.planner.aggregates import col, contains_aggregate, plan_aggregation, sql
from flowsql.planner.cascaded_windows import find_cascade, window_properties
from flowsql.planner.comma_joins import comma_conditions
from flowsql.planner.ctes import cte_relation, isolated, plan_with
from flowsql.planner.hints import check_query_hints, input_names, item_names, state_ttl, ttl_for
from flowsql.planner.joins import plan_join, resolve_columns, star_columns
from flowsql.planner.lateral import plan_lateral
from flowsql.planner.logical import (
    Calc,
    Field,
    GroupAggregate,
    LogicalNode,
    Scan,
    Schema,
    Sink,
    Union,
    Values,
    WatermarkInfo,
    WindowAggregate,
    names,
)
from flowsql.planner.lookup_joins import is_proctime
from flowsql.planner.scalar_subqueries import HIDDEN_PREFIX, plan_scalar_subqueries
from flowsql.planner.subqueries import plan_subqueries, split_subqueries
from flowsql.planner.window_joins import window_table
from flowsql.planner.windows import (
    WINDOW_COLUMNS,
    rewrite_legacy_windows,
    watermark_delay,
    window_spec,
)
from flowsql.sql.expressions import WindowTVF
from flowsql.sql.positions import node_position
from flowsql.types import FlinkType, parse_type, to_arrow
from flowsql.udf.resolve import resolve_calls

GLOBAL_KEY = "EXPR$global"
_TTL_UNUSED = (
    "the STATE_TTL hint has no effect on this query block: it sets the state TTL of a GROUP BY "
    "aggregation or SELECT DISTINCT, and the block has neither (a window aggregation frees "
    "its state when its windows fire)"
)


@dataclass
class Relation:
    """A planned FROM item: its node, the qualifiers its columns answer to, the event-time
    attributes it carries, and a pending window (window TVF not yet aggregated)."""

    node: LogicalNode
    aliases: set[str] = field(default_factory=set)
    time_attrs: set[str] = field(default_factory=set)
    window: WindowSpec | None = None
    # processing-time attributes: PROCTIME() columns (flowsql.planner.lookup_joins)
    proc_attrs: set[str] = field(default_factory=set, kw_only=True)
    partition_keys: list[str] = field(default_factory=list)
    late_sink: TableDefinition | None = None
    # a join's column names (flowsql.planner.joins): (qualifier, column) → output column,
    # bare column → output column, bare names both inputs have
    qualified: dict[tuple[str, str], str] | None = None
    unqualified: dict[str, str] = field(default_factory=dict)
    ambiguous: set[str] = field(default_factory=set)
    # window columns of a window TVF without aggregation (flowsql.planner.window_joins):
    # column → (window, "window_start" | "window_end")
    window_of: dict[str, tuple[WindowSpec, str]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        cols = names(self.node.schema)
        if self.window is not None:
            cols += list(WINDOW_COLUMNS)
        return cols


@dataclass
class ClientSide:
    """ORDER BY / LIMIT of the top-level query, applied by the session to bounded results."""

    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    limit: int | None = None


def arrow_schema(schema: Schema) -> tuple[pa.Schema, dict[str, FlinkType]]:
    types = {f.name: parse_type(f.type) for f in schema}
    return pa.schema([pa.field(f.name, to_arrow(types[f.name])) for f in schema]), types


def expr_type(text: str | exp.Expression, schema: Schema, config: Any = None) -> FlinkType:
    """Compile ``text`` against ``schema`` (raises ValidationError) and return its type."""
    from flowsql.expr.compile import compile_expression

    arrow, types = arrow_schema(schema)
    tz = (config.get("table.local-time-zone") if config is not None else None) or "UTC"
    return compile_expression(text, arrow, flink_types=types, session_time_zone=tz).flink_type


def type_text(t: FlinkType) -> str:
    text = str(t)
    try:
        parse_type(text)
    except Exception:  # noqa: BLE001 - e.g. interval types have no column type text
        raise NotSupportedError(f"a column of type {text}") from None
    return text


def parse_stored(text: str, what: str) -> exp.Expression:
    from flowsql.sql.parser import parse_expression, parse_query

    try:
        return parse_query(text) if what == "query" else parse_expression(text)
    except Exception as e:  # noqa: BLE001 - stored text: report as validation problem
        raise ValidationError(f"cannot parse stored {what} {text!r}: {e}") from None


class PlanBuilder:
    def __init__(self, catalog: Any, config: Any) -> None:
        self.catalog = catalog
        self.config = config
        self.client = ClientSide()
        self.warnings: list[str] = []
        self._views: list[str] = []

    # -- statements --------------------------------------------------------------------------
    def query(self, query: exp.Expression) -> Sink:
        rel = self._query(query, top=True)
        node = self._materialize(rel)
        return Sink(schema=node.schema, input=node, table=None)

    def insert(self, target: tuple[str, ...], query: exp.Expression, columns: tuple[str, ...] = ()) -> Sink:
        obj = self.catalog.get(target)
        if not isinstance(obj, TableDefinition):
            raise ValidationError(f"cannot INSERT INTO view {obj.name}; the target must be a table")
        rel = self._query(query, top=False)
        node = self._materialize(rel)
        from connectors.base import sink_columns
        from connectors.registry import factory_for

        physical = list(sink_columns(obj, factory_for(obj)))  # physical, then writable metadata
        targets = list(columns) or [c.name for c in physical]
        known = {c.name.lower(): c for c in physical}
        for name in targets:
            if name.lower() not in known:
                raise ValidationError(
                    f"column '{name}' is not a physical column of {obj.name}",
                    hint="columns: " + ", ".join(c.name for c in physical),
                )
        src = names(node.schema)
        if len(src) != len(targets):
            raise ValidationError(
                f"INSERT INTO {obj.name}: the query produces {len(src)} column(s) "
                f"({', '.join(src)}) but the target expects {len(targets)} ({', '.join(targets)})"
            )
        by_target = {t.lower(): s for t, s in zip(targets, src, strict=True)}
        in_types = {f.name: parse_type(f.type) for f in node.schema}
        projections, fields = [], []
        for c in physical:
            want = parse_type(c.data_type or "STRING")
            s = by_target.get(c.name.lower())
            if s is None:
                e = f"CAST(NULL AS {want})"
            elif _same_type(in_types[s], want):
                e = sql(col(s))
            else:
                e = f"CAST({sql(col(s))} AS {want.with_nullable(True)})"
                expr_type(e, node.schema, self.config)  # invalid casts fail here
            projections.append((c.name, e))
            fields.append(Field(c.name, str(want.with_nullable(True))))
        calc = Calc(schema=tuple(fields), input=node, projections=tuple(projections))
        out: LogicalNode = node if calc.is_identity else calc
        return Sink(schema=tuple(fields), input=out, table=obj)

    # -- queries -----------------------------------------------------------------------------
    def _query(self, query: exp.Expression, *, top: bool) -> Relation:
        query = resolve_calls(rewrite_legacy_windows(query.copy()),
                              getattr(self.catalog, "functions", None))  # Python UDFs
        check_query_hints(query)
        checks.check_query(query)
        if query.args.get("with_") is not None:
            return plan_with(self, query, top)
        if isinstance(query, exp.Subquery):
            return self._query(query.this, top=top)
        if isinstance(query, exp.Union):
            return self._union(query, top)
        if isinstance(query, exp.Select):
            return self._select(query, top)
        if isinstance(query, exp.Values):
            return self._values(query)
        raise NotSupportedError(f"{type(query).__name__.upper()} queries in streaming mode")

    def _order_limit(self, query: exp.Expression, rel: Relation, top: bool) -> None:
        order = query.args.get("order")
        limit = query.args.get("limit")
        if order is None and limit is None:
            return
        bounded = _bounded(rel.node)
        if not top:
            raise NotSupportedError("ORDER BY / LIMIT in a subquery, view or INSERT")
        if order is not None:
            keys = []
            for o in order.expressions:
                e = o.this
                name = e.name if isinstance(e, exp.Column) else None
                if name is None or name not in names(rel.node.schema):
                    raise NotSupportedError(f"ORDER BY {sql(e)}: order by output columns only")
                desc = bool(o.args.get("desc"))
                keys.append((name, desc))
            first, desc = keys[0]
            # Bounded input: the session sorts the final result, so any order works.
            if not bounded and (first not in rel.time_attrs or desc):
                raise ValidationError(
                    f"a streaming query can only be sorted by a time attribute in ascending "
                    f"order; ORDER BY {first}{' DESC' if desc else ''} would need the whole "
                    "(unbounded) input before emitting the first row",
                    hint="sort on the event-time column, or SET 'execution.runtime-mode' = "
                    "'batch' for bounded input",
                )
            if not bounded:
                raise NotSupportedError("ORDER BY on an unbounded input")
            self.client.order_by = keys
        if limit is not None:
            if not bounded:
                raise NotSupportedError("LIMIT on an unbounded input")
            value = limit.expression
            if not isinstance(value, exp.Literal) or value.is_string:
                raise ValidationError(f"LIMIT needs an integer literal, got {sql(value)}")
            self.client.limit = int(value.this)

    def _union(self, query: exp.Union, top: bool) -> Relation:
        if isinstance(query, exp.Except | exp.Intersect):
            raise NotSupportedError(f"{type(query).__name__.upper()} in streaming mode")
        branches: list[exp.Expression] = []

        def flatten(q: exp.Expression) -> None:
            if isinstance(q, exp.Union) and not isinstance(q, exp.Except | exp.Intersect) and (
                q.args.get("distinct") is False
            ) and not q.args.get("order") and not q.args.get("limit"):
                flatten(q.this)
                flatten(q.expression)
            else:
                branches.append(q)

        distinct = query.args.get("distinct") is not False
        if distinct:
            branches = [query.this, query.expression]
        else:
            flatten(query.this)
            flatten(query.expression)
        rels = [self._query(b, top=False) for b in branches]
        nodes = [self._materialize(r) for r in rels]
        first = nodes[0].schema
        for n in nodes[1:]:
            if len(n.schema) != len(first):
                raise ValidationError(
                    f"UNION inputs have different column counts: {len(first)} and {len(n.schema)}"
                )
        from flowsql.expr.typing import common_type

        fields = []
        for i, f in enumerate(first):
            types = [parse_type(n.schema[i].type) for n in nodes]
            common = types[0]
            for t in types[1:]:
                merged = common_type([common, t])
                if merged is None:
                    raise ValidationError(
                        f"UNION column {i + 1} ('{f.name}') has incompatible types {common} and {t}"
                    )
                common = merged
            fields.append(Field(f.name, type_text(common.with_nullable(True))))
        children = []
        for n in nodes:
            projections = []
            for f, have in zip(fields, n.schema, strict=True):
                e = sql(col(have.name))
                if not _same_type(parse_type(have.type), parse_type(f.type)):
                    e = f"CAST({e} AS {f.type})"
                projections.append((f.name, e))
            calc = Calc(schema=tuple(fields), input=n, projections=tuple(projections))
            children.append(n if calc.is_identity else calc)
        time_attrs = set.intersection(*(r.time_attrs for r in rels))
        node: LogicalNode = Union(schema=tuple(fields), children=tuple(children))
        if distinct:
            keys = [f.name for f in fields]
            node = GroupAggregate(schema=node.schema, input=node, spec=GroupAggregateSpec(tuple(keys), ()))
            time_attrs = set()
        rel = Relation(node, time_attrs=time_attrs)
        self._order_limit(query, rel, top)
        return rel

    # -- SELECT ------------------------------------------------------------------------------
    def _select(self, select: exp.Select, top: bool, rel: Relation | None = None) -> Relation:
        """``rel``: the FROM item, already planned (Top-N: :mod:`flowsql.planner.ranking`)."""
        from flowsql.planner import over, ranking

        select = comma_conditions(select)  # FROM a, b WHERE a.x = b.y: the ON of that join
        from_ = select.args.get("from_") or select.args.get("from")
        if rel is None and (ranked := ranking.plan_ranked(self, select, top)) is not None:
            return ranked
        ranking.reject_windows(select)
        # SELECT without FROM reads one row with no columns of its own (Flink: Values [[0]])
        if rel is None:
            rel = self._relation(from_.this) if from_ is not None else Relation(
                Values(schema=(Field("ZERO", "INT NOT NULL"),), rows=(("0",),)))
        hints = state_ttl(select)
        joins = select.args.get("joins") or []
        seen = item_names(from_.this) if from_ is not None else []
        for join in joins:
            if isinstance(join.this, exp.Lateral):  # LATERAL TABLE(f(x)): a Python table function
                rel = plan_lateral(self, rel, join)
                continue
            right = item_names(join.this)
            rel = plan_join(self, rel, join, (ttl_for(hints, seen), ttl_for(hints, right)))
            seen = seen + right
        ttl = ttl_for(hints, input_names(select))
        # scalar subqueries: LEFT joins with their aggregations (flowsql.planner.scalar_subqueries)
        rel, select = plan_scalar_subqueries(self, rel, select)
        if rel.window is not None and not _aggregates(select):
            self._materialize(rel)  # a window TVF without aggregation: window columns
        # 1. WHERE (IN / EXISTS subqueries: semi and anti joins after the plain conjuncts)
        where = select.args.get("where")
        plain, subqueries = split_subqueries(where.this) if where is not None else (None, [])
        if plain is not None:
            cond = self._strip(plain.copy(), rel)
            if contains_aggregate(cond):
                raise ValidationError("aggregate functions are not allowed in WHERE; use HAVING")
            if rel.window is not None and any(c.name in WINDOW_COLUMNS for c in cond.find_all(exp.Column)):
                raise NotSupportedError("filtering on window columns before the window aggregation")
            self._check_bool(cond, rel.node.schema, "WHERE")
            rel.node = _filter(rel.node, sql(cond))
        if subqueries:
            rel = plan_subqueries(self, rel, subqueries)
        # 2. select list (OVER aggregations: flowsql.planner.over)
        if over.has_over(select):
            out = over.plan_over(self, select, rel)
            self._order_limit(select, out, top)
            return out
        items = self._items(select, rel)
        group = [self._strip(g.copy(), rel) for g in (select.args.get("group").expressions if select.args.get("group") else [])]
        having = select.args.get("having")
        having_e = self._strip(having.this.copy(), rel) if having is not None else None
        aggregating = bool(group) or any(contains_aggregate(e) for _, e in items) or having_e is not None
        if aggregating:
            out = self._aggregate(rel, items, group, having_e, ttl)
        else:
            if rel.window is not None:
                raise NotSupportedError(
                    "a window TVF without GROUP BY window_start, window_end",
                    hint="aggregate the windows: ... GROUP BY window_start, window_end",
                )
            out = self._project(rel, items)
        if select.args.get("distinct") is not None:
            if select.args["distinct"].args.get("on") is not None:
                raise NotSupportedError("SELECT DISTINCT ON")
            keys = tuple(names(out.node.schema))
            out = Relation(GroupAggregate(schema=out.node.schema, input=out.node,
                                          spec=GroupAggregateSpec(keys, ()), state_ttl_ms=ttl))
        elif ttl is not None and not joins and not (aggregating and rel.window is None):
            self.warnings.append(_TTL_UNUSED)
        self._order_limit(select, out, top)
        return out

    def _items(self, select: exp.Select, rel: Relation) -> list[tuple[str, exp.Expression]]:
        items: list[tuple[str, exp.Expression]] = []
        visible = [n for n in names(rel.node.schema) if not n.startswith(HIDDEN_PREFIX)]
        for i, e in enumerate(select.expressions):
            if isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star)):
                if isinstance(e, exp.Column) and e.table and rel.qualified is not None:
                    items.extend((n, col(o)) for n, o in star_columns(rel, e.table))
                else:
                    items.extend((n, col(n)) for n in visible)
                continue
            inner = e.this if isinstance(e, exp.Alias) else e
            name = e.alias if isinstance(e, exp.Alias) else (
                inner.name if isinstance(inner, exp.Column) else
                (inner.output_name if isinstance(inner, exp.Dot) else "")
            )
            items.append((name or f"EXPR${i}", self._strip(inner.copy(), rel)))
        seen: dict[str, int] = {}
        out = []
        for name, e in items:  # Flink makes duplicate names unique: a, a0, a1 ...
            base, n = name, seen.get(name.lower(), -1)
            while name.lower() in seen:
                n += 1
                name = f"{base}{n}"
            seen[base.lower()] = n
            seen[name.lower()] = seen.get(name.lower(), -1)
            out.append((name, e))
        return out

    def _strip(self, e: exp.Expression, rel: Relation) -> exp.Expression:
        """Remove table qualifiers naming ``rel`` (``t.a`` → ``a``); ``r.f`` on a ROW column
        ``r`` stays a field access. Window columns of a pending window stay as they are. Over a
        join, names resolve through its name maps (:func:`flowsql.planner.joins.resolve_columns`)."""
        if rel.qualified is not None:
            return resolve_columns(e, rel)
        cols = set(rel.columns)
        for c in list(e.find_all(exp.Column)):
            qualifier = c.table
            if qualifier and qualifier in rel.aliases and c.name in cols:
                c.set("table", None)
                c.set("db", None)
                c.set("catalog", None)
            elif qualifier and qualifier not in cols and qualifier not in rel.aliases and not c.args.get("db"):
                raise ValidationError(
                    f"unknown table or column '{qualifier}' in '{sql(c)}'",
                    hint="available: " + ", ".join(sorted(rel.aliases) + sorted(cols)),
                )
        if isinstance(e, exp.Column) and e.table and e.table in rel.aliases and e.name in cols:
            e.set("table", None)
        return e

    def _check_bool(self, cond: exp.Expression, schema: Schema, what: str) -> None:
        t = expr_type(cond, schema, self.config)
        if t.root not in ("BOOLEAN", "NULL"):
            raise ValidationError(f"the {what} condition must be BOOLEAN, got {t}: {sql(cond)}")

    def _project(self, rel: Relation, items: list[tuple[str, exp.Expression]]) -> Relation:
        fields, projections, time_attrs, window_of = [], [], set(), {}
        proc_attrs = set()
        for name, e in items:
            t = expr_type(e, rel.node.schema, self.config)
            fields.append(Field(name, type_text(t)))
            projections.append((name, sql(e)))
            if isinstance(e, exp.Column) and not e.table and e.name in rel.time_attrs:
                time_attrs.add(name)
            if is_proctime(e) or (isinstance(e, exp.Column) and not e.table and e.name in rel.proc_attrs):
                proc_attrs.add(name)
            if isinstance(e, exp.Column) and not e.table and e.name in rel.window_of:
                window_of[name] = rel.window_of[e.name]
        calc = Calc(schema=tuple(fields), input=rel.node, projections=tuple(projections))
        node = rel.node if calc.is_identity else _merge_calc(calc)
        return Relation(node, time_attrs=time_attrs, late_sink=rel.late_sink, window_of=window_of,
                        proc_attrs=proc_attrs)

    def _aggregate(
        self,
        rel: Relation,
        items: list[tuple[str, exp.Expression]],
        group: list[exp.Expression],
        having: exp.Expression | None,
        state_ttl_ms: int | None = None,
    ) -> Relation:
        window = rel.window
        # GROUP BY the window columns of a window aggregate's output: the same windows again
        cascade = find_cascade(rel, group)
        source = rel.node
        if cascade is not None:
            exprs = [e for _, e in items] + group + ([having] if having is not None else [])
            source, window = _merge_calc(cascade.prepare(rel.node, exprs)), cascade.tumble
        plan = plan_aggregation(
            items, group, having, names(source.schema),
            window=window is not None,
            time_column=window.time_column if window else None,
            partition_keys=rel.partition_keys,
            window_bounds=("window_end",) if cascade is not None else ("window_start", "window_end"),
        )
        if window is None and not plan.keys and not plan.aggs:
            raise ValidationError("GROUP BY needs at least one key or aggregate")
        check_python_aggregates(plan.aggs, window=window.kind if window is not None else None)
        if window is None and not plan.keys:
            # a global aggregation runs as a group aggregation over one constant key
            plan.keys.append(GLOBAL_KEY)
            plan.pre.append((GLOBAL_KEY, "0"))
        # pre-projection
        pre_fields = tuple(Field(n, type_text(expr_type(e, source.schema, self.config))) for n, e in plan.pre)
        pre = Calc(schema=pre_fields, input=source, projections=tuple(plan.pre))
        inp = source if pre.is_identity else _merge_calc(pre)
        # the aggregate
        from flowsql.operators.accumulators import Accumulators
        from flowsql.types import from_arrow

        accs = Accumulators(plan.aggs)
        accs.bind(arrow_schema(inp.schema)[0])
        types = {f.name: f.type for f in inp.schema}
        agg_fields = [Field(k, types[k]) for k in plan.keys]
        if window is not None:  # TIMESTAMP_LTZ(3) for processing-time windows (as in Flink)
            wtype = "TIMESTAMP_LTZ(3)" if window.proctime else "TIMESTAMP(3)"
            agg_fields += [Field(c, wtype) for c in plan.window_columns]
        agg_fields += [
            Field(a.output, type_text(from_arrow(accs.output_type(i))))
            for i, a in enumerate(plan.aggs)
        ]
        node: LogicalNode
        time_attrs: set[str] = set()
        proc_attrs: set[str] = set()
        window_of: dict[str, tuple[WindowSpec, str]] = {}
        if window is not None:
            spec = WindowAggregateSpec(window, tuple(plan.keys), tuple(plan.aggs), tuple(plan.window_columns))
            node = WindowAggregate(schema=tuple(agg_fields), input=inp, spec=spec,
                                   late_sink=None if window.proctime or cascade else rel.late_sink,
                                   cascaded=cascade.window if cascade is not None else None)
            if "window_time" in plan.window_columns:
                (proc_attrs if window.proctime else time_attrs).add("window_time")
            window_of = (cascade.output_properties() if cascade is not None
                         else window_properties(window, plan.window_columns))
            having_sql = None
        else:
            spec_g = GroupAggregateSpec(tuple(plan.keys), tuple(plan.aggs))
            having_sql = None
            if plan.having is not None:
                self._check_bool(plan.having, tuple(agg_fields), "HAVING")
                having_sql = sql(plan.having)
            node = GroupAggregate(schema=tuple(agg_fields), input=inp, spec=spec_g, having=having_sql,
                                  state_ttl_ms=state_ttl_ms)
        if window is not None and plan.having is not None:
            self._check_bool(plan.having, node.schema, "HAVING")
            node = _filter(node, sql(plan.having))
        agg_rel = Relation(node, time_attrs=time_attrs, proc_attrs=proc_attrs,
                           window_of=window_of if window is not None else {})
        return self._project(agg_rel, plan.select)

    # -- FROM --------------------------------------------------------------------------------
    def _relation(self, item: exp.Expression) -> Relation:
        if isinstance(item, WindowTVF):
            return self._window_tvf(item)
        alias_node = item.args.get("alias")
        alias = alias_node.name if alias_node is not None else ""
        if isinstance(item, exp.Table):
            if item.args.get("joins") or isinstance(item.this, exp.Anonymous | exp.Func):
                raise NotSupportedError(f"table function {sql(item)}")
            parts = tuple(p for p in (item.catalog, item.db, item.name) if p)
            rel = cte_relation(self, item) or self._named(parts)
            rel.aliases.add(alias or item.name)
        elif isinstance(item, exp.Subquery):
            rel = self._query(item.this, top=False)
            rel.aliases = {alias} if alias else set()
        elif isinstance(item, exp.Values):
            rel = self._values(item)
            rel.aliases = {alias} if alias else set()
        else:
            raise NotSupportedError(f"FROM {sql(item)}")
        if alias_node is not None and alias_node.columns:
            rel = self._rename(rel, [c.name for c in alias_node.columns], f"alias {alias}")
        return rel

    def _values(self, values: exp.Values) -> Relation:
        """``VALUES (…), (…)`` → a :class:`Values` node: columns ``EXPR$0 …`` (as Flink names
        them), each of the least common type of its rows; rows whose type differs are CAST."""
        from flowsql.expr.typing import common_type

        rows = [list(t.expressions) if isinstance(t, exp.Tuple) else [t] for t in values.expressions]
        if not rows:
            raise ValidationError("VALUES needs at least one row")
        width = len(rows[0])
        for i, r in enumerate(rows):
            if len(r) != width:
                raise ValidationError(
                    f"VALUES rows must have the same number of columns: row 1 has {width}, "
                    f"row {i + 1} has {len(r)}"
                )
        for r in rows:
            for e in r:
                if e.find(exp.Column) is not None:
                    raise ValidationError(f"VALUES takes constant expressions, not columns: {sql(e)}")
        types = [[expr_type(e, (), self.config) for e in r] for r in rows]
        fields = []
        for j in range(width):
            common = common_type([t[j] for t in types])
            if common is None:
                raise ValidationError(
                    f"VALUES column {j + 1} has incompatible types: "
                    + ", ".join(sorted({str(t[j]) for t in types}))
                )
            if common.root == "NULL":
                raise ValidationError(f"VALUES column {j + 1} is NULL in every row: CAST it to a type")
            fields.append(Field(f"EXPR${j}", type_text(common)))
        texts = tuple(
            tuple(
                sql(e) if _same_type(t, parse_type(f.type))
                else f"CAST({sql(e)} AS {parse_type(f.type).with_nullable(True)})"
                for e, t, f in zip(r, ts, fields, strict=True)
            )
            for r, ts in zip(rows, types, strict=True)
        )
        return Relation(Values(schema=tuple(fields), rows=texts))

    def _rename(self, rel: Relation, new: list[str], what: str) -> Relation:
        old = names(rel.node.schema)
        if len(new) != len(old):
            raise ValidationError(f"{what} names {len(new)} columns but the query has {len(old)}")
        fields = tuple(Field(n, f.type) for n, f in zip(new, rel.node.schema, strict=True))
        projections = tuple((n, sql(col(o))) for n, o in zip(new, old, strict=True))
        time_attrs = {n for n, o in zip(new, old, strict=True) if o in rel.time_attrs}
        window_of = {n: rel.window_of[o] for n, o in zip(new, old, strict=True) if o in rel.window_of}
        node = Calc(schema=fields, input=rel.node, projections=projections)
        return Relation(_merge_calc(node), rel.aliases, time_attrs, late_sink=rel.late_sink,
                        window_of=window_of,
                        proc_attrs={n for n, o in zip(new, old, strict=True) if o in rel.proc_attrs})

    def _named(self, parts: tuple[str, ...]) -> Relation:
        obj = self.catalog.get(parts)
        if isinstance(obj, ViewDefinition):
            key = str(obj.name)
            if key in self._views:
                raise ValidationError("view cycle: " + " -> ".join([*self._views, key]))
            self._views.append(key)
            try:
                query = parse_stored(obj.query, "query")
                saved = self.client
                self.client = ClientSide()
                with isolated(self):  # the reader's CTEs are not the view's
                    rel = self._query(query, top=False)
                self.client = saved
            finally:
                self._views.pop()
            rel.node = self._materialize(rel)
            rel.window = None
            if obj.column_names:
                rel = self._rename(rel, list(obj.column_names), f"view {obj.name}")
            rel.aliases = set()
            return rel
        return self._scan(obj)

    def _scan(self, table: TableDefinition) -> Relation:
        from connectors.registry import factory_for

        factory = factory_for(table)
        options = factory.validate(table)
        fields: list[Field] = []
        physical_schema: list[Field] = []
        computed: list[tuple[str, str]] = []
        proc_attrs: set[str] = set()
        from connectors.base import source_columns

        delivered = source_columns(table, factory)  # physical, then metadata the source reads
        for c in delivered:
            f = Field(c.name, str(parse_type(c.data_type or "STRING")))
            fields.append(f)
            physical_schema.append(f)
        delivered_names = {c.name for c in delivered}
        for c in table.columns:
            if c.name in delivered_names:
                continue
            if c.kind == "computed":
                e = parse_stored(c.expression or "", "computed column")
                t = expr_type(e, tuple(physical_schema), self.config)
                computed.append((c.name, sql(e)))
                if is_proctime(e):
                    proc_attrs.add(c.name)
                fields.append(Field(c.name, type_text(t)))
            elif c.kind == "metadata":
                t = parse_type(c.data_type or "STRING")
                computed.append((c.name, f"CAST(NULL AS {t})"))
                fields.append(Field(c.name, str(t)))
        order = [c.name for c in table.columns]
        fields.sort(key=lambda f: order.index(f.name))
        watermark = None
        time_attrs: set[str] = set()
        if table.watermark is not None:
            wm_col = table.column(table.watermark.column)
            if wm_col is None:
                raise ValidationError(f"watermark column '{table.watermark.column}' is not a column of {table.name}")
            delay = watermark_delay(parse_stored(table.watermark.expression, "watermark"), wm_col.name)
            expression = dict(computed).get(wm_col.name, sql(col(wm_col.name)))
            t = parse_type(next(f.type for f in fields if f.name == wm_col.name))
            if not t.is_time_attribute_capable:
                raise ValidationError(
                    f"the watermark column '{wm_col.name}' must be TIMESTAMP(3) or TIMESTAMP_LTZ(3), got {t}"
                )
            watermark = WatermarkInfo(wm_col.name, expression, delay)
            time_attrs.add(wm_col.name)
        idle = checks.duration_option(table.options.get("scan.watermark.idle-timeout"),
                                      "scan.watermark.idle-timeout")
        if idle is None:
            idle = checks.duration_option(self.config.get("table.exec.source.idle-timeout"),
                                          "table.exec.source.idle-timeout") or 0
        late_sink = None
        if table.options.get("late-data.sink"):
            from catalog.catalog import split_identifier

            late = self.catalog.get(split_identifier(table.options["late-data.sink"]))
            if not isinstance(late, TableDefinition):
                raise ValidationError(f"'late-data.sink' of {table.name} must name a table, not a view")
            factory_for(late).validate(late)
            late_sink = late
        scan = Scan(
            schema=tuple(fields),
            table=table,
            columns=tuple(f.name for f in physical_schema),
            computed=tuple(computed),
            watermark=watermark,
            bounded=checks.source_bounded(factory, table, options),
            idle_timeout_ms=int(idle),
            late_sink=late_sink,
        )
        return Relation(scan, time_attrs=time_attrs, late_sink=late_sink, proc_attrs=proc_attrs)

    def _window_tvf(self, tvf: WindowTVF) -> Relation:
        inner = self._relation(tvf.args["table"])
        node = self._materialize(inner)
        time_col = tvf.args["time_col"].name
        if time_col not in names(node.schema):
            raise ValidationError(
                f"DESCRIPTOR({time_col}) names no column of the windowed table",
                hint="columns: " + ", ".join(names(node.schema)),
            )
        proctime = time_col in inner.proc_attrs and time_col not in inner.time_attrs
        if time_col not in inner.time_attrs and not proctime:
            raise ValidationError(
                f"the window time column '{time_col}' is not an event-time attribute "
                "nor a processing-time attribute"
                f"{node_position(tvf.args['time_col'])}",
                hint="declare WATERMARK FOR <column> AS <column> - INTERVAL '...' SECOND on the "
                "source table (event time), or window on a PROCTIME() column, e.g. "
                "p AS PROCTIME() (processing time)",
            )
        spec = window_spec(tvf, time_col)
        if proctime:  # windowed by arrival time: flowsql.operators.proctime_window
            spec = dataclasses.replace(spec, proctime=True)
        partition = [c.name for c in (tvf.args.get("partition_by") or [])]
        for p in partition:
            if p not in names(node.schema):
                raise ValidationError(f"PARTITION BY column '{p}' not found")
        if partition and spec.kind != "SESSION":
            raise ValidationError(f"PARTITION BY is only allowed in SESSION windows, not {spec.kind}")
        alias = tvf.args.get("alias")
        aliases = {alias.name} if alias is not None and alias.name else set()
        return Relation(node, aliases, set(inner.time_attrs), spec, partition, inner.late_sink)

    def _materialize(self, rel: Relation) -> LogicalNode:
        """The relation's node; a pending window TVF becomes its window table function
        (:func:`flowsql.planner.window_joins.window_table`, in place)."""
        if rel.window is not None:
            window_table(rel)
        return rel.node


def _aggregates(select: exp.Select) -> bool:
    """Whether a SELECT aggregates (GROUP BY, HAVING or an aggregate in its list)."""
    return bool(select.args.get("group") or select.args.get("having")
                or any(contains_aggregate(e) for e in select.expressions))


def _same_type(a: FlinkType, b: FlinkType) -> bool:
    return a.with_nullable(True) == b.with_nullable(True)


def _bounded(node: LogicalNode) -> bool:
    from flowsql.planner.logical import walk_nodes

    return all(n.bounded for n in walk_nodes(node) if isinstance(n, Scan))


def _filter(node: LogicalNode, condition: str) -> LogicalNode:
    """A filter as a Calc passing every column; merged into a Calc below it when possible."""
    if isinstance(node, Calc) and node.condition is None and node.is_identity:
        node = node.input
    projections = tuple((f.name, sql(col(f.name))) for f in node.schema)
    if isinstance(node, Calc) and node.input is not None and all(
        e == sql(col(n)) for n, e in node.projections
    ) and [n for n, _ in node.projections] == names(node.input.schema):
        cond = condition if node.condition is None else f"({node.condition}) AND ({condition})"
        return Calc(schema=node.schema, input=node.input, projections=node.projections, condition=cond)
    return Calc(schema=node.schema, input=node, projections=projections, condition=condition)


def _merge_calc(calc: Calc) -> LogicalNode:
    """Calc over a pure filter Calc (identity projection): fold the filter in."""
    inner = calc.input
    if isinstance(inner, Calc) and [n for n, _ in inner.projections] == names(inner.input.schema) and all(
        e == sql(col(n)) for n, e in inner.projections
    ):
        cond = inner.condition
        if calc.condition:
            cond = f"({cond}) AND ({calc.condition})" if cond else calc.condition
        return Calc(schema=calc.schema, input=inner.input, projections=calc.projections, condition=cond)
    return calc
