"""Flink-dialect query AST → one DuckDB SQL statement (the batch-mode transpiler).

Contract: ``Transpiler(resolver).plan(query_ast) -> BatchPlan`` where ``BatchPlan.sql`` is a
single DuckDB ``SELECT`` that reads only the connector scans listed in ``BatchPlan.scans``
(to be registered in the sandbox under their ``name`` before running the SQL).
The input AST is not modified. Steps, applied to the query and, recursively, to every
catalog view it references (each step its own module):

0. ``/*+ STATE_TTL(...) */`` hints are dropped: state TTL is a streaming notion, and Flink's
   batch mode ignores the hint too (other hints are not dropped);
1. ``guard.check_query`` — only read-only queries over catalog objects (no ATTACH, COPY,
   ``read_csv(...)`` ...): ``ValidationError`` otherwise;
2. ``legacy_windows.rewrite_group_windows`` — ``GROUP BY TUMBLE(ts, ...)`` → window TVF;
3. ``udfs.BatchUdfs.bind`` — calls of the catalog's Python functions → DuckDB Arrow
   functions registered for the statement; then ``functions.map_functions`` — Flink functions/casts → DuckDB with Flink semantics;
   unknown functions → ``NotSupportedError``;
4. table references → CTEs over connector scans / inlined views (``relations.Relations``),
   user CTE names shadowing catalog names; unknown names → the catalog's ``CatalogError``;
5. window TVFs → subqueries with ``window_start/window_end/window_time`` (``windows``);
   each TVF's time column is recorded (``BatchPlan.time_checks``) so the runner can check,
   before the query runs, that it is a TIMESTAMP (a ValidationError naming its line/column);
   a TUMBLE/HOP aggregate grouped by ``window_start, window_end`` groups by ``window_start``
   only and derives ``window_end`` after aggregation;
6. (top level only) unnamed select items get Flink's names ``EXPR$<i>``, and the relation
   CTEs are prepended to the query's WITH clause.

Example: ``SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts),
INTERVAL '10' SECOND)) GROUP BY window_start, window_end`` becomes
``WITH __t0_bids AS (SELECT ... FROM __scan_0) SELECT window_start, COUNT(*) AS "EXPR$1"
FROM (SELECT * EXCLUDE (__ws), ... FROM (SELECT *, ... AS __ws FROM __t0_bids AS __src
WHERE ts IS NOT NULL)) AS "__window0" GROUP BY window_start, window_end``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from flowsql.batch.functions import map_functions
from flowsql.batch.guard import check_query
from flowsql.batch.legacy_windows import rewrite_group_windows
from flowsql.batch.lookup_joins import drop_lookup_versions
from flowsql.batch.relations import Relations, Resolver, ScanBinding
from flowsql.batch.udfs import BatchUdfs
from flowsql.batch.windows import (
    TimeColumnCheck,
    derive_window_properties,
    time_column_check,
    window_subquery,
)
from flowsql.errors import NotSupportedError, ValidationError
from flowsql.sql.expressions import Descriptor, WindowTVF
from flowsql.udf.resolve import resolve_calls


@dataclass
class BatchPlan:
    """A transpiled query: DuckDB SQL plus the scans it needs."""

    sql: str
    scans: list[ScanBinding] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)
    tree: exp.Expression | None = None
    udfs: BatchUdfs | None = None  # Python UDFs to register on the sandbox (flowsql.batch.udfs)
    # window time columns to type-check before running: (check, DuckDB probe SQL)
    time_checks: list[tuple[TimeColumnCheck, str]] = field(default_factory=list)


class Transpiler:
    """Transpiles one statement's queries; shares relation CTEs and scans between them."""

    def __init__(self, resolver: Resolver) -> None:
        self.relations = Relations(resolver)
        self._windows = 0
        self._time_checks: list[TimeColumnCheck] = []
        self._functions = getattr(resolver, "functions", None)  # the catalog's user functions
        self.udfs = BatchUdfs()

    # -- public ---------------------------------------------------------------------------
    def plan(self, query: exp.Expression) -> BatchPlan:
        """Transpile a top-level query (see module contract)."""
        if isinstance(query, exp.Values) and not query.alias:
            query = values_as_select(query)
        if not isinstance(query, exp.Query):
            raise NotSupportedError(f"{type(query).__name__} as a batch query")
        self._time_checks = []
        tree = self.rewrite_query(query.copy())
        name_outputs(tree)
        if self.relations.ctes:
            with_ = tree.args.get("with_")
            ctes = [c.copy() for c in self.relations.ctes]
            if with_ is None:
                tree.set("with_", exp.With(expressions=ctes))
            else:
                with_.set("expressions", ctes + list(with_.expressions))
        with_ = tree.args.get("with_")
        all_ctes = list(with_.expressions) if with_ is not None else []
        return BatchPlan(
            sql=tree.sql(dialect="duckdb"),
            scans=list(self.relations.scans),
            columns=dict(self.relations.columns),
            tree=tree,
            udfs=self.udfs if self.udfs.functions else None,
            time_checks=[(c, c.probe(all_ctes)) for c in self._time_checks],
        )

    def rewrite_query(self, tree: exp.Expression) -> exp.Expression:
        """Steps 0-5 on a query tree (modified in place; returns the new root)."""
        drop_state_ttl_hints(tree)
        check_query(tree)
        for node in tree.walk():
            if isinstance(node, Descriptor):
                raise ValidationError("DESCRIPTOR(...) is only valid inside a window TVF")
        tree = rewrite_group_windows(tree)
        drop_lookup_versions(tree, self.relations.resolver)
        tree = self.udfs.bind(resolve_calls(tree, self._functions))
        tree = map_functions(tree)
        self._resolve_tables(tree)
        return self._translate_windows(tree)

    def rewrite_expression(self, tree: exp.Expression) -> exp.Expression:
        """Steps 1 and 3 on a scalar expression (computed columns)."""
        check_query(tree)
        return map_functions(tree)

    # -- steps ----------------------------------------------------------------------------
    def _resolve_tables(self, tree: exp.Expression) -> None:
        local = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        for table in list(tree.find_all(exp.Table)):
            if not isinstance(table.this, exp.Identifier):
                continue
            parts = tuple(p.name for p in table.parts)
            if len(parts) == 1 and parts[0].lower() in local:
                continue
            if table.args.get("version") is not None:
                raise NotSupportedError(
                    "FOR SYSTEM_TIME AS OF something other than a PROCTIME() attribute (a "
                    "temporal join on event time) in batch mode",
                    hint="a lookup join (AS OF a PROCTIME() attribute) runs as a plain join")
            name, _ = self.relations.relation_for(parts, self)
            alias = table.args.get("alias")
            new = exp.Table(this=exp.to_identifier(name))
            new.set("alias", alias.copy() if alias is not None else exp.TableAlias(
                this=exp.to_identifier(parts[-1], quoted=True)
            ))
            for key in ("joins", "laterals", "pivots", "hints"):
                if table.args.get(key):
                    new.set(key, table.args[key])
            table.replace(new)

    def _translate_windows(self, tree: exp.Expression) -> exp.Expression:
        tvfs = [n for n in tree.walk(bfs=False) if isinstance(n, WindowTVF)]
        for tvf in reversed(tvfs):  # innermost first
            derive_window_properties(tvf)
            check = time_column_check(tvf)
            if check is not None:
                self._time_checks.append(check)
            alias = tvf.alias_or_name or f"__window{self._windows}"
            self._windows += 1
            sub = window_subquery(tvf, alias)
            if tvf is tree:
                return sub
            tvf.replace(sub)
        return tree


def values_as_select(values: exp.Values) -> exp.Select:
    """A top-level ``VALUES (…), (…)`` as ``SELECT * FROM (VALUES …) AS __values(EXPR$0, …)``:
    a query with Flink's column names (``EXPR$<i>``)."""
    first = values.expressions[0] if values.expressions else None
    width = len(first.expressions) if isinstance(first, exp.Tuple) else 1
    aliased = values.copy()
    aliased.set("alias", exp.TableAlias(
        this=exp.to_identifier("__values"),
        columns=[exp.to_identifier(f"EXPR${i}", quoted=True) for i in range(width)],
    ))
    return exp.select("*").from_(aliased)


def drop_state_ttl_hints(tree: exp.Expression) -> None:
    """Remove STATE_TTL from every SELECT's hint block (step 0)."""
    for select in tree.find_all(exp.Select):
        hint = select.args.get("hint")
        if hint is None:
            continue
        keep = [h for h in hint.expressions
                if not (isinstance(h, exp.Anonymous | exp.Var) and str(h.name).upper() == "STATE_TTL")]
        if keep:
            hint.set("expressions", keep)
        else:
            select.set("hint", None)


def name_outputs(tree: exp.Expression) -> None:
    """Give unnamed select items Flink's ``EXPR$<i>`` names (top-level SELECT only)."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if isinstance(select, exp.Subquery):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    items = []
    for i, item in enumerate(select.expressions):
        if isinstance(item, exp.Alias | exp.Column | exp.Star) or item.find(exp.Star) is item:
            items.append(item)
        else:
            items.append(exp.alias_(item, f"EXPR${i}", quoted=True))
    select.set("expressions", items)
