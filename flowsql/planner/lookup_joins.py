"""Planning lookup joins: ``o JOIN t FOR SYSTEM_TIME AS OF o.proc_time [AS a] ON …``, where
``proc_time`` is a processing-time attribute of the probe side (Flink's lookup join).

Contract (:func:`plan_versioned_join`, called by :func:`flowsql.planner.joins.plan_join` for
every join whose right input carries ``FOR SYSTEM_TIME AS OF``):
- Processing-time attributes: a ``PROCTIME()`` computed column or select item, and columns
  that pass such a column on unchanged, are recorded in ``Relation.proc_attrs`` by the builder
  (:func:`is_proctime`).
- ``AS OF`` something that is not a processing-time attribute is an event-time temporal join:
  a table without a primary key or a watermark is a ValidationError (Flink's "versioned
  table" requirement, named with the table); otherwise the result is a
  :class:`~flowsql.planner.temporal_joins.Versioned` that
  :func:`flowsql.planner.joins.plan_join` plans further (:mod:`flowsql.planner.temporal_joins`);
  so is a view that deduplicates on event time (a versioned view), any other view is a
  ValidationError.
- For a lookup join the right input must be a catalog table (not a view or subquery) whose connector can be
  looked up (``ConnectorFactory.can_lookup``: the filesystem connector today) and has no
  computed or metadata columns. The join is INNER or LEFT (Flink's lookup joins); others are
  a ValidationError.
- ON is split into AND-ed conjuncts: ``<expression over the probe side> = <lookup table
  column>`` are the lookup keys (at least one, else a ValidationError); the rest is the
  residual, applied to the joined pairs. A probe-side key that is not a column of the lookup
  column's type becomes a helper column ``$lk<i>`` (CAST where the types differ), dropped
  after the join.
- Output: the probe columns, then the table's columns (renamed as regular joins rename:
  ``k`` → ``k0``; nullable on a LEFT join). The probe side's time and processing-time
  attributes stay attributes. Append-only when the input is (a changelog input keeps its row
  kinds). Stateless operator ``lookup-join`` (:mod:`flowsql.operators.lookup_join`) chained
  after its input at the input's parallelism.

Plan text (EXPLAIN)::

    LookupJoin(table=[default_catalog.default_database.side_input], joinType=[InnerJoin],
      lookup=[`key`=`$lk0`], where=[...], select=[auction, ..., key, value])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from catalog.table import TableDefinition
from flowsql.errors import NotSupportedError, ValidationError
from flowsql.planner.appending import AppendingNode
from flowsql.planner.logical import JOIN_NAMES, Calc, Field, _q, names
from flowsql.planner.temporal_joins import Versioned, versioned_view
from flowsql.types import parse_type

if TYPE_CHECKING:
    from flowsql.planner.builder import PlanBuilder, Relation


def is_proctime(e: exp.Expression) -> bool:
    """Whether ``e`` is a ``PROCTIME()`` call."""
    name = e.name if isinstance(e, exp.Anonymous) else (e.sql_name() if isinstance(e, exp.Func) else "")
    return name.upper() == "PROCTIME" and not e.expressions


@dataclass(frozen=True, eq=False)
class LookupJoin(AppendingNode):
    """The input's columns, then the lookup table's (``right``: table column → output name)."""

    table: TableDefinition = None  # type: ignore[assignment]
    join_type: str = "INNER"
    keys: tuple[str, ...] = ()  # input columns
    lookup_keys: tuple[str, ...] = ()  # table columns
    right: tuple[tuple[str, str], ...] = ()
    residual: str | None = None

    def label(self) -> str:
        lookup = ", ".join(f"{_q(t)}={_q(k)}" for t, k in zip(self.lookup_keys, self.keys, strict=True))
        n = self.table.name
        parts = [f"table=[{n.catalog}.{n.database}.{n.name}]", f"joinType=[{JOIN_NAMES[self.join_type]}]",
                 f"lookup=[{lookup}]"]
        if self.residual:
            parts.append(f"where=[{self.residual}]")
        parts.append(f"select=[{', '.join(names(self.schema))}]")
        return f"LookupJoin({', '.join(parts)})"

    def reads(self) -> set[str]:
        from flowsql.planner.rules.refs import referenced

        inputs = names(self.input.schema)
        return set(self.keys) | referenced(self.residual, inputs)

    def changelog_mode(self, ins: list[str]) -> str:
        return ins[0]

    def translate(self, b: Any) -> Any:
        from flowsql.planner.translate import _schema_json

        up = b.node(self.input)
        params = {"table": self.table.to_json(), "join_type": self.join_type,
                  "keys": list(self.keys), "lookup_keys": list(self.lookup_keys),
                  "right": [list(r) for r in self.right], "output": _schema_json(self.schema),
                  "residual": self.residual}
        op = b.add("lookup-join", "LookupJoin", params, up.parallelism)
        b.connect(up, op)
        return op


def _version_column(version: exp.Expression, left: Relation) -> str | None:
    """The probe-side column ``AS OF`` names, or None."""
    from flowsql.planner.joins import _visible

    e = version.args.get("expression")
    if not isinstance(e, exp.Column):
        return None
    qualified, unqualified, _ = _visible(left)
    if e.table:
        return qualified.get((e.table, e.name))
    return unqualified.get(e.name)


def plan_versioned_join(b: PlanBuilder, left: Relation, join: exp.Join,
                        join_type: str) -> Relation | Versioned:
    """Plan a lookup join against ``t FOR SYSTEM_TIME AS OF …``, or describe an event-time
    temporal join (see the module contract)."""
    from flowsql.planner.joins import _position

    item = join.this
    version = item.args["version"]
    where = _position(version) or _position(item)
    if not isinstance(item, exp.Table) or not isinstance(item.this, exp.Identifier):
        raise NotSupportedError("FOR SYSTEM_TIME AS OF on a subquery" + where)
    parts = tuple(p for p in (item.catalog, item.db, item.name) if p)
    obj = b.catalog.get(parts)
    column = _version_column(version, left)
    proc = column is not None and column in left.proc_attrs
    if not isinstance(obj, TableDefinition):
        if not proc:  # an event-time temporal join against a (versioned) view
            from flowsql.planner.aggregates import sql

            return versioned_view(b, item, item.name, column, where,
                                  sql(version.args.get("expression")))
        raise NotSupportedError(f"FOR SYSTEM_TIME AS OF on the view {item.name}" + where,
                                hint="join the table the view reads")
    if not proc:
        return _event_time(obj, version, column, where)
    return _plan_lookup(b, left, join, join_type, obj, where)


def _event_time(table: TableDefinition, version: exp.Expression, column: str | None,
                where: str) -> Versioned:
    from flowsql.planner.aggregates import sql

    missing = [w for w, ok in (("primary key", table.primary_key is not None),
                               ("watermark", table.watermark is not None)) if not ok]
    if missing:
        raise ValidationError(
            f"a temporal join needs a versioned table (a primary key and a watermark): "
            f"{table.name.name} has no {' and no '.join(missing)}, and "
            f"'{sql(version.args.get('expression'))}' is not a processing-time attribute{where}",
            hint="for a lookup join use a PROCTIME() attribute of the probe side, e.g. "
            "FROM (SELECT *, PROCTIME() AS p FROM o) o JOIN t FOR SYSTEM_TIME AS OF o.p; for an "
            "event-time temporal join declare PRIMARY KEY (...) NOT ENFORCED and a WATERMARK on "
            "the versioned table")
    assert table.primary_key is not None and table.watermark is not None
    return Versioned(probe_time=column, name=table.name.name, time=table.watermark.column,
                     primary_key=tuple(table.primary_key.columns), where=where,
                     as_of=sql(version.args.get("expression")))


def _plan_lookup(b: PlanBuilder, left: Relation, join: exp.Join, join_type: str,
                 table: TableDefinition, where: str) -> Relation:
    from connectors.registry import factory_for
    from flowsql.planner.aggregates import col, sql
    from flowsql.planner.builder import Relation, expr_type, type_text
    from flowsql.planner.joins import (
        _conjuncts,
        _position,
        _refs,
        _visible,
        _with_helpers,
        resolve_columns,
    )

    if join_type not in ("INNER", "LEFT"):
        raise ValidationError(f"a lookup join is an INNER or LEFT join, not {join_type}{where}")
    factory = factory_for(table)
    if not getattr(factory, "can_lookup", False):
        raise NotSupportedError(
            f"a lookup join against {table.name}: connector '{factory.identifier}' cannot look "
            "keys up" + where, hint="lookup tables use the filesystem connector today")
    if any(c.kind != "physical" for c in table.columns):
        raise NotSupportedError(f"a lookup join against {table.name}, a table with computed or "
                                "metadata columns" + where)
    factory.validate(table)
    item = join.this
    alias = item.alias_or_name
    lnode = b._materialize(left)
    lq, lu, lamb = _visible(left)
    lnames = names(lnode.schema)
    taken, rename = set(lnames), {}
    for c in table.physical_columns:
        out, i = c.name, 0
        while out in taken:
            out, i = f"{c.name}{i}", i + 1
        taken.add(out)
        rename[c.name] = out
    qualified = {**lq, **{(alias, c): o for c, o in rename.items()}}
    unqualified = {**lu, **{c: o for c, o in rename.items()}}
    ambiguous = lamb | (set(lu) & set(rename))
    probe = Relation(lnode, qualified=qualified, unqualified=unqualified, ambiguous=ambiguous)
    cond = join.args.get("on")
    if cond is None:
        raise ValidationError(f"a lookup join needs an equality condition on {table.name}'s "
                              "columns; this join has no ON clause" + _position(join))
    back = {o: c for c, o in rename.items()}
    rtypes = {c.name: parse_type(c.data_type or "STRING") for c in table.physical_columns}
    pairs: list[tuple[exp.Expression, str]] = []
    residual: list[exp.Expression] = []
    for c in _conjuncts(resolve_columns(cond.copy(), probe)):
        if isinstance(c, exp.EQ):
            for a, z in ((c.this, c.expression), (c.expression, c.this)):
                if isinstance(z, exp.Column) and z.name in back and _refs(a) and _refs(a) <= set(lnames):
                    pairs.append((a, back[z.name]))
                    break
            else:
                residual.append(c)
            continue
        residual.append(c)
    if not pairs:
        raise ValidationError(
            f"a lookup join needs an equality condition between the probe side and a column of "
            f"{table.name}; '{sql(cond)}' has none{_position(cond)}",
            hint=f"e.g. ON o.id = {alias}.id")
    keys, helpers = [], []
    for i, (e, column) in enumerate(pairs):
        want = rtypes[column].with_nullable(True)
        t = expr_type(e, lnode.schema, b.config)
        if isinstance(e, exp.Column) and t.with_nullable(True) == want:
            keys.append(e.name)
            continue
        text = sql(e) if t.with_nullable(True) == want else f"CAST({sql(e)} AS {want})"
        keys.append(f"$lk{i}")
        helpers.append((f"$lk{i}", text, type_text(want)))
    inner = _with_helpers(lnode, helpers)
    right_fields = tuple(
        Field(rename[c.name], type_text(rtypes[c.name].with_nullable(True)) if join_type == "LEFT"
              else str(rtypes[c.name]))
        for c in table.physical_columns)
    schema = tuple(inner.schema) + right_fields
    residual_sql = None
    if residual:
        cond_e = residual[0] if len(residual) == 1 else exp.and_(*residual)
        b._check_bool(cond_e, schema, "ON")
        residual_sql = sql(cond_e)
    node: Any = LookupJoin(schema=schema, input=inner, table=table, join_type=join_type,
                           keys=tuple(keys), lookup_keys=tuple(c for _, c in pairs),
                           right=tuple((c.name, rename[c.name]) for c in table.physical_columns),
                           residual=residual_sql)
    if helpers:
        keep = [f for f in schema if not f.name.startswith("$lk")]
        node = Calc(schema=tuple(keep), input=node, projections=tuple((f.name, sql(col(f.name))) for f in keep))
    return Relation(node, time_attrs={n for n in left.time_attrs if n in lnames},
                    proc_attrs={n for n in left.proc_attrs if n in lnames},
                    qualified=qualified, unqualified=unqualified, ambiguous=ambiguous)
