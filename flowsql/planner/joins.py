"""Planning regular joins: ``FROM a [INNER|LEFT|RIGHT|FULL [OUTER]] JOIN b ON …``.

Contract (:func:`plan_join`, called by the builder for every JOIN of a SELECT, left to right):
- Output columns: the left input's, then the right input's; a right column whose name is
  taken gets Flink's suffix (``k`` → ``k0``, ``k1`` …). On an outer join the columns of the
  side that may be missing become nullable. Regular joins keep no time attribute (Flink
  materializes rowtime columns of a join's output).
- Names: ``alias.column`` resolves to that input's column, a bare column name to the only
  input that has it; a bare name both inputs have is a ValidationError ("ambiguous").
  :func:`resolve_columns` applies this to any expression over the join's output.
- ON is split into its AND-ed conjuncts. A conjunct ``<left expr> = <right expr>`` (each
  side reading one input only) is a key pair; every other conjunct goes into the residual
  predicate, evaluated on matching pairs. No key pair at all (a cross join, a comma join,
  ``ON a.x > b.y``) is a ValidationError naming the condition's line and column, as Flink
  rejects non-equi streaming joins — unless the condition bounds the inputs' event times
  from both sides: that is an interval join (:mod:`flowsql.planner.interval_joins`), with or
  without equalities; its output keeps the two time columns as time attributes. Two
  windowed inputs joined on window_start and window_end make a window join
  (:mod:`flowsql.planner.window_joins`). Key pairs of different types are compared in their
  common type; a key that is an expression or needs a CAST becomes a helper column
  (``$lk<i>`` / ``$rk<i>``) computed before the exchange and dropped after the join.
- A right input ``t FOR SYSTEM_TIME AS OF …`` is a lookup join (:mod:`flowsql.planner.lookup_joins`)
  or, AS OF an event-time attribute of a versioned table, a temporal join planned here with
  the table scanned as the right input (:mod:`flowsql.planner.temporal_joins`).
- USING, NATURAL, SEMI/ANTI and LATERAL joins raise NotSupportedError. So does a join whose
  input still has an ARRAY / MAP / MULTISET column after projection pruning (the join state
  identifies rows by hashing them): :func:`check_join_columns`, called by the translator.
- ``/*+ STATE_TTL(...) */`` keys naming an input set that side's TTL (``Join.state_ttl_ms``).
  A join with an unbounded input and a side whose state no TTL bounds adds a line to the
  builder's ``warnings``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.planner.aggregates import col, sql
from flowsql.planner.interval_joins import IntervalJoin, interval_bounds
from flowsql.planner.logical import Calc, Field, Join, LogicalNode, names
from flowsql.planner.temporal_joins import Versioned, temporal_join
from flowsql.planner.window_joins import WindowJoin, window_join_keys
from flowsql.sql.positions import node_position
from flowsql.types import parse_type

if TYPE_CHECKING:
    from flowsql.planner.builder import PlanBuilder, Relation

_position = node_position  # shared with the other planner modules

_EQUI_HINT = ("join on an equality of the two inputs' columns, e.g. ON o.customer_id = c.id "
              "(further conditions may follow with AND)")


def _visible(rel: Relation) -> tuple[dict[tuple[str, str], str], dict[str, str], set[str]]:
    """(qualified, unqualified, ambiguous) names of a relation's columns."""
    if rel.qualified is not None:
        return dict(rel.qualified), dict(rel.unqualified), set(rel.ambiguous)
    cols = names(rel.node.schema)
    return {(a, c): c for a in rel.aliases for c in cols}, {c: c for c in cols}, set()


def resolve_columns(e: exp.Expression, rel: Relation) -> exp.Expression:
    """Rewrite column references of ``e`` to the join output's names (see the contract)."""
    for c in list(e.find_all(exp.Column)):
        if isinstance(c.this, exp.Star):
            continue
        db, table, name = c.args.get("db"), c.table, c.name
        if db is not None and (db.name, table) in rel.qualified:  # alias.row_column.field
            c.set("db", None)
            c.set("table", exp.to_identifier(rel.qualified[(db.name, table)]))
        elif table and (table, name) in rel.qualified:
            c.set("table", None)
            c.set("this", col(rel.qualified[(table, name)]).this)
        elif table and table in rel.unqualified and not db:  # row_column.field
            if table in rel.ambiguous:
                raise _ambiguous(table, rel, c)
            c.set("table", exp.to_identifier(rel.unqualified[table]))
        elif table:
            raise ValidationError(
                f"unknown table or column '{table}' in '{sql(c)}'{_position(c)}",
                hint="available: " + ", ".join(sorted({q for q, _ in rel.qualified})),
            )
        elif name in rel.ambiguous:
            raise _ambiguous(name, rel, c)
        elif name in rel.unqualified:
            c.set("this", col(rel.unqualified[name]).this)
    return e


def _ambiguous(name: str, rel: Relation, at: exp.Expression) -> ValidationError:
    """The batch runner's wording (docs/errors.md), with the position."""
    owners = [f"{q}.{n}" for q, n in rel.qualified if n == name]
    return ValidationError(
        f"ambiguous column '{name}': more than one table has it{_position(at)}",
        hint="qualify it with its table: " + " or ".join(owners),
    )


def star_columns(rel: Relation, qualifier: str) -> list[tuple[str, str]]:
    """(name, output column) of every column ``qualifier.*`` selects: the input's own names,
    as Flink expands ``c.*`` to ``c.id, c.name``."""
    cols = [(n, out) for (q, n), out in rel.qualified.items() if q == qualifier]
    if not cols:
        raise ValidationError(f"unknown table '{qualifier}' in {qualifier}.*",
                              hint="available: " + ", ".join(sorted({q for q, _ in rel.qualified})))
    return list(dict.fromkeys(cols))


def _conjuncts(e: exp.Expression) -> list[exp.Expression]:
    while isinstance(e, exp.Paren):
        e = e.this
    if isinstance(e, exp.And):
        return _conjuncts(e.this) + _conjuncts(e.expression)
    return [e]


def _refs(e: exp.Expression) -> set[str]:
    return {c.name for c in e.find_all(exp.Column)}


def _join_type(join: exp.Join) -> str:
    side = (join.side or "").upper()
    kind = (join.kind or "").upper()
    if join.args.get("method") or kind in ("SEMI", "ANTI") or "NATURAL" in kind:
        raise NotSupportedError(f"{' '.join(p for p in (join.args.get('method'), side, kind) if p)} JOIN")
    if join.args.get("using"):
        raise NotSupportedError("JOIN ... USING", hint="write the condition: ON a.x = b.x")
    if kind == "CROSS":
        raise ValidationError("a streaming CROSS JOIN is not supported: a regular join needs an "
                              "equality condition between its inputs" + _position(join),
                              hint=_EQUI_HINT)
    return side or "INNER"


def plan_join(b: PlanBuilder, left: Relation, join: exp.Join,
              ttl: tuple[int | None, int | None], join_type: str | None = None) -> Relation:
    """Plan ``left JOIN join.this ON ...``; ``join_type`` SEMI / ANTI is given by
    :mod:`flowsql.planner.subqueries` (the right columns come out NULL)."""
    from flowsql.expr.typing import common_type
    from flowsql.planner.builder import Relation, expr_type, type_text

    join_type = join_type or _join_type(join)
    versioned: Versioned | None = None
    item = join.this
    if isinstance(item, exp.Table) and item.args.get("version") is not None:
        from flowsql.planner.lookup_joins import plan_versioned_join

        planned = plan_versioned_join(b, left, join, join_type)  # FOR SYSTEM_TIME AS OF
        if not isinstance(planned, Versioned):
            return planned  # a lookup join
        versioned, item = planned, item.copy()  # an event-time temporal join: scan the table
        item.set("version", None)
    timed = versioned is None and join_type in ("INNER", "LEFT", "RIGHT", "FULL")
    right = versioned.relation if versioned is not None and versioned.relation else b._relation(item)
    lnode, rnode = b._materialize(left), b._materialize(right)
    lq, lu, lamb = _visible(left)
    rq, ru, ramb = _visible(right)
    # output names: the left's, then the right's made unique
    taken = set(names(lnode.schema))
    rename: dict[str, str] = {}
    for n in names(rnode.schema):
        out, i = n, 0
        while out in taken:
            out, i = f"{n}{i}", i + 1
        taken.add(out)
        rename[n] = out
    qualified = {**lq, **{k: rename[v] for k, v in rq.items()}}
    unqualified = {**lu, **{k: rename[v] for k, v in ru.items()}}
    ambiguous = lamb | ramb | (set(lu) & set(ru))
    probe = Relation(lnode, qualified=qualified, unqualified=unqualified, ambiguous=ambiguous)
    cond = join.args.get("on")
    if cond is None:
        raise ValidationError(
            "a streaming join needs an equality condition between its inputs; this join has "
            "no ON clause" + _position(join), hint=_EQUI_HINT)
    resolved = resolve_columns(cond.copy(), probe)
    lnames, back = set(names(lnode.schema)), {v: k for k, v in rename.items()}
    pairs: list[tuple[exp.Expression, exp.Expression]] = []
    residual: list[exp.Expression] = []
    for c in _conjuncts(resolved):
        if isinstance(c, exp.EQ):
            a, z = _refs(c.this), _refs(c.expression)
            if a and z and a <= lnames and z <= set(back):
                pairs.append((c.this, c.expression))
                continue
            if a and z and z <= lnames and a <= set(back):
                pairs.append((c.expression, c.this))
                continue
        residual.append(c)
    windowed = window_join_keys(
        pairs, {n: w for n, w in left.window_of.items() if n in lnames},
        {rename[n]: w for n, w in right.window_of.items() if n in rename},
        _position(cond)) if timed else None
    bounds = None
    if windowed is not None:  # a window join (flowsql.planner.window_joins)
        on_window = set(windowed[0].values())
        pairs = [(a, z) for a, z in pairs if not (
            isinstance(a, exp.Column) and isinstance(z, exp.Column) and (a.name, z.name) in on_window)]
    elif timed:
        bounds = interval_bounds(
            residual, {n for n in left.time_attrs if n in lnames},
            {rename[n] for n in right.time_attrs if n in rename}, bool(pairs), cond, _position(cond))
    if not pairs and bounds is None and windowed is None:
        raise ValidationError(
            f"a streaming join needs at least one equality condition between its inputs; "
            f"'{sql(cond)}' has none{_position(cond)}", hint=_EQUI_HINT)
    # key columns of a common type (helper columns where needed)
    lkeys: list[str] = []
    rkeys: list[str] = []
    lhelp: list[tuple[str, str, str]] = []
    rhelp: list[tuple[str, str, str]] = []
    for i, (le, re_out) in enumerate(pairs):
        re_in = re_out.copy()
        for c in re_in.find_all(exp.Column):
            c.set("this", col(back[c.name]).this)
        lt, rt = expr_type(le, lnode.schema, b.config), expr_type(re_in, rnode.schema, b.config)
        common = common_type([lt, rt])
        if common is None or common.root == "NULL":
            raise ValidationError(f"cannot compare {lt} with {rt} in the join condition "
                                  f"{sql(le)} = {sql(re_out)}{_position(le)}")
        want = common.with_nullable(True)
        for e, t, keys, helpers, prefix in ((le, lt, lkeys, lhelp, "$lk"), (re_in, rt, rkeys, rhelp, "$rk")):
            if isinstance(e, exp.Column) and t.with_nullable(True) == want:
                keys.append(e.name)
            else:
                text = sql(e) if t.with_nullable(True) == want else f"CAST({sql(e)} AS {want})"
                keys.append(f"{prefix}{i}")
                helpers.append((f"{prefix}{i}", text, type_text(want)))
    lnode2, rnode2 = _with_helpers(lnode, lhelp), _with_helpers(rnode, rhelp)
    nullable_left = join_type in ("RIGHT", "FULL")
    nullable_right = join_type in ("LEFT", "FULL", "SEMI", "ANTI")

    def fields(node: LogicalNode, nullable: bool, renamed: dict[str, str]) -> list[Field]:
        return [Field(renamed.get(f.name, f.name),
                      type_text(parse_type(f.type).with_nullable(True)) if nullable else f.type)
                for f in node.schema]

    rename_all = {**rename, **{h: h for h, _, _ in rhelp}}
    schema = tuple(fields(lnode2, nullable_left, {}) + fields(rnode2, nullable_right, rename_all))
    residual_sql = None
    if residual:
        cond_e = residual[0] if len(residual) == 1 else exp.and_(*residual)
        b._check_bool(cond_e, schema, "ON")
        residual_sql = sql(cond_e)
    node: LogicalNode
    time_attrs: set[str] = set()
    if versioned is not None:  # flowsql.planner.temporal_joins
        node = temporal_join(versioned, join_type=join_type,
                             left_time_attrs={n for n in left.time_attrs if n in lnames},
                             pairs=pairs, right_column=back, schema=schema, left=lnode2,
                             right=rnode2, left_keys=tuple(lkeys), right_keys=tuple(rkeys),
                             residual=residual_sql)
        time_attrs = {n for n in left.time_attrs if n in lnames}
    elif bounds is not None:  # an interval join (flowsql.planner.interval_joins)
        node = IntervalJoin(schema=schema, left=lnode2, right=rnode2, join_type=join_type,
                            left_keys=tuple(lkeys), right_keys=tuple(rkeys), residual=residual_sql,
                            left_time=bounds.left_time, right_time=back[bounds.right_time],
                            lower_ms=bounds.lower_ms or 0, upper_ms=bounds.upper_ms or 0)
        time_attrs = {bounds.left_time, bounds.right_time}
    elif windowed is not None:
        (ls, rs), (le, re_) = windowed[0]["window_start"], windowed[0]["window_end"]
        node = WindowJoin(schema=schema, left=lnode2, right=rnode2, join_type=join_type,
                          left_keys=tuple(lkeys), right_keys=tuple(rkeys), residual=residual_sql,
                          window=windowed[1], left_window=(ls, le), right_window=(back[rs], back[re_]))
    else:
        _warn_unbounded_state(b, lnode, rnode, ttl)
        node = Join(schema=schema, left=lnode2, right=rnode2, join_type=join_type,
                    left_keys=tuple(lkeys), right_keys=tuple(rkeys),
                    residual=residual_sql, state_ttl_ms=ttl)
    if lhelp or rhelp:  # drop the helper key columns again
        keep = [f for f in schema if not f.name.startswith(("$lk", "$rk"))]
        node = Calc(schema=tuple(keep), input=node,
                    projections=tuple((f.name, sql(col(f.name))) for f in keep))
    return Relation(node, time_attrs=time_attrs, qualified=qualified, unqualified=unqualified,
                    ambiguous=ambiguous)


def check_join_columns(node: Join) -> None:
    """Refuse input columns the join state cannot hash (see the module contract)."""
    for side in (node.left, node.right):
        for f in side.schema:
            if any(w in f.type.upper() for w in ("ARRAY<", "MAP<", "MULTISET<")):
                raise NotSupportedError(
                    f"a streaming join input with a column of type {f.type} ('{f.name}')",
                    hint="leave that column out of the query, or select it from the joined "
                    "result's other input")


def _warn_unbounded_state(b: PlanBuilder, left: LogicalNode, right: LogicalNode,
                          ttl: tuple[int | None, int | None]) -> None:
    """A join of unbounded inputs keeps every row of both forever unless a TTL bounds it."""
    from flowsql.planner.builder import _bounded

    if _bounded(left) and _bounded(right):
        return
    configured = str(b.config.get("table.exec.state.ttl") or "").strip() not in ("", "0", "0 ms")
    if all(t or (t is None and configured) for t in ttl):
        return
    b.warnings.append(
        "this join of unbounded inputs keeps every input row in its state forever: SET "
        "'table.exec.state.ttl' = '...' (or a /*+ STATE_TTL(...) */ hint) bounds it, at the "
        "cost of missing matches older than the TTL"
    )


def _with_helpers(node: LogicalNode, helpers: list[tuple[str, str, str]]) -> LogicalNode:
    if not helpers:
        return node
    projections = [(f.name, sql(col(f.name))) for f in node.schema] + [(n, e) for n, e, _ in helpers]
    schema = tuple(node.schema) + tuple(Field(n, t) for n, _, t in helpers)
    return Calc(schema=schema, input=node, projections=tuple(projections))
