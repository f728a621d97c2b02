"""Planning event-time temporal joins: ``o JOIN r FOR SYSTEM_TIME AS OF o.ts [AS a] ON o.k =
a.k``, where ``o.ts`` is an event-time attribute of the probe side and ``r`` a versioned table
(Flink's event-time temporal join).

Contract:
- :mod:`flowsql.planner.lookup_joins` decides the kind of ``FOR SYSTEM_TIME AS OF`` join: AS
  OF a processing-time attribute is a lookup join; otherwise the right table must be a
  *versioned table*, a catalog table with a PRIMARY KEY and a WATERMARK (else a
  ValidationError), and it returns a :class:`Versioned` for :func:`flowsql.planner.joins.plan_join`,
  which plans the join as a regular one (the table scanned as usual: an upsert or changelog
  source keeps its changelog, an append-only table is a stream of versions) and builds a
  :class:`TemporalJoin` with :func:`temporal_join`.
- A view is versioned when it keeps the last row per key on event time (Flink's versioned
  view, :func:`versioned_view`): its key is the PARTITION BY columns, its version time the
  ORDER BY column; the join reads the deduplication's input with ``latest_only`` set. Any
  other view is a ValidationError.
- :func:`temporal_join` checks, as Flink does: INNER or LEFT only; the AS OF column is an
  event-time attribute of the probe side; every primary key column of the versioned table
  is equal to a probe-side expression in ON. Other equalities are further keys, other
  conjuncts the residual (applied to the joined pair; a LEFT join NULL-pads the probe row
  when it fails).
- The probe side must be append-only (checked in :mod:`flowsql.planner.changelog`); the
  versioned side may be updating. The output is append-only, its columns a regular join's,
  and the probe side's time attributes stay time attributes.
- Operator ``temporal-join`` (:mod:`flowsql.operators.temporal_join`), both inputs
  hash-partitioned on the join keys.

Plan text (EXPLAIN)::

    TemporalJoin(joinType=[LeftOuterJoin], where=[(cur = cur0) AND (rate > 1)],
      period=[ts AS OF rates.rts], select=[id, cur, amount, ts, cur0, rate, rts])
    (a versioned view adds ``versions=[LastRowPerKey]`` after ``period``)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.planner.logical import JOIN_NAMES, Join, _q, names


@dataclass(frozen=True, eq=False)
class TemporalJoin(Join):
    """A :class:`Join` of a probe input (left) with a versioned input (right): each left row
    joins the right row of its keys valid at ``left_time`` (``right_time`` is the version
    time; input column names)."""

    append_only: ClassVar[bool] = True
    left_time: str = ""
    right_time: str = ""
    versioned: str = ""  # the versioned table's name, for EXPLAIN
    latest_only: bool = False  # the right input is a versioned view's input (see versioned_view)

    def label(self) -> str:
        right = dict(zip(names(self.right.schema), self.right_names, strict=True))
        where = " AND ".join(f"{_q(lk)} = {_q(right[rk])}"
                             for lk, rk in zip(self.left_keys, self.right_keys, strict=True))
        if self.residual:
            where = f"({where}) AND ({self.residual})"
        return (f"TemporalJoin(joinType=[{JOIN_NAMES[self.join_type]}], where=[{where}], "
                f"period=[{self.left_time} AS OF {self.versioned}.{self.right_time}], "
                + ("versions=[LastRowPerKey], " if self.latest_only else "")
                + f"select=[{', '.join(names(self.schema))}])")

    def changelog_mode(self, ins: list[str]) -> str:
        if ins[0] != "append":
            raise NotSupportedError(
                "an event-time temporal join whose probe side (the left input) is updating",
                hint="the probe side of FOR SYSTEM_TIME AS OF must be append-only; the "
                "versioned side may be an upsert or changelog source")
        return "append"

    def physical(self) -> tuple[str, str, dict[str, Any]]:
        """(operator kind, display name, extra params) for the JobGraph."""
        return "temporal-join", "TemporalJoin", {"left_time": self.left_time,
                                                 "right_time": self.right_time,
                                                 "latest_only": self.latest_only}


@dataclass(frozen=True)
class Versioned:
    """What :mod:`~flowsql.planner.lookup_joins` found out about an event-time temporal join:
    the probe side's AS OF column, the versioned table's name, version time column and
    primary key, where the AS OF clause is (for errors) and, for a versioned view, its
    planned relation."""

    probe_time: str | None
    name: str
    time: str
    primary_key: tuple[str, ...]
    where: str
    as_of: str  # the AS OF expression as SQL
    relation: Any = None  # a versioned view's Relation (a table is scanned by plan_join)
    latest_only: bool = False  # a versioned view: a row older than its key's newest is no version


def versioned_view(b: Any, item: Any, name: str, probe_time: str | None, where: str,
                   as_of: str) -> Versioned:
    """A view as the versioned side: it must keep the last row per key on event time
    (``ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) = 1`` over an append-only input,
    Flink's versioned view), possibly under projections that keep the key and time columns;
    its primary key is the partition columns and its version time the ORDER BY column.

    The deduplication itself is left out of the plan: the join reads its input and takes a
    row as a version only when it is not older than its key's newest one (``latest_only``),
    which is what the deduplication would emit, one version per row — Top-N's operator nets
    a batch's changes per key and would drop the versions in between."""
    from sqlglot import exp

    from flowsql.planner.changelog import is_updating
    from flowsql.planner.logical import Calc
    from flowsql.planner.ranking import Rank

    plain = item.copy()
    plain.set("version", None)
    rel = b._relation(plain)
    chain, node = [], rel.node
    up = {n: n for n in names(node.schema)}  # a column of ``node`` -> its name in the view
    while isinstance(node, Calc) and node.condition is None:
        below = {}
        for out, text in node.projections:
            e = exp.maybe_parse(text, dialect="flink")
            if isinstance(e, exp.Column) and not e.table and out in up:
                below[e.name] = up[out]
        chain.append(node)
        up, node = below, node.input
    if isinstance(node, Rank) and node.deduplicate and node.spec.keep_last:
        keys = [up.get(k) for k in node.spec.partition_keys]
        time = up.get(node.spec.order[0][0])
        if keys and None not in keys and time is not None:
            if is_updating(node.input):
                raise NotSupportedError(f"a versioned view over an updating input ({name}){where}",
                                        hint="a versioned view deduplicates an append-only table")
            right = node.input
            for calc in reversed(chain):  # the same projections, over the deduplication's input
                right = calc.replace(input=right)
            rel.node = right
            return Versioned(probe_time=probe_time, name=name, time=time, primary_key=tuple(keys),
                             where=where, as_of=as_of, relation=rel, latest_only=True)
    raise ValidationError(
        f"a temporal join needs a versioned table or view: the view {name} keeps no last row "
        f"per key on event time (or does not output its key and time columns){where}",
        hint="a versioned view deduplicates on event time, e.g. SELECT k, v, ts FROM (SELECT *, "
        "ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) AS rn FROM t) WHERE rn = 1")


def temporal_join(v: Versioned, *, join_type: str, left_time_attrs: set[str],
                  pairs: list[tuple[Any, Any]], right_column: dict[str, str],
                  **join: Any) -> TemporalJoin:
    """A :class:`TemporalJoin` (see the module contract); ``pairs`` are the key pairs as
    (probe expression, versioned expression over output names); ``right_column`` maps
    output names of the versioned side to its input names; ``join`` the :class:`Join`
    fields."""
    from sqlglot import exp

    if join_type not in ("INNER", "LEFT"):
        raise ValidationError(f"a temporal join is an INNER or LEFT join, not {join_type}{v.where}",
                              hint="Flink's temporal joins support INNER JOIN and LEFT JOIN")
    if v.probe_time is None or v.probe_time not in left_time_attrs:
        raise ValidationError(
            f"FOR SYSTEM_TIME AS OF {v.as_of}: a temporal join reads the version valid at a "
            f"time attribute of the left input, and {v.as_of} is not one{v.where}",
            hint="use the probe table's rowtime column (its WATERMARK column) or a PROCTIME() "
            "attribute (a lookup join)")
    keyed = {right_column.get(z.name) for _, z in pairs if isinstance(z, exp.Column)}
    missing = [c for c in v.primary_key if c not in keyed]
    if missing:
        raise ValidationError(
            f"a temporal join must join on the primary key of the versioned table {v.name} "
            f"({', '.join(v.primary_key)}), but the condition has no equality on "
            f"{', '.join(missing)}{v.where}",
            hint=f"e.g. ON o.{missing[0]} = r.{missing[0]}")
    return TemporalJoin(join_type=join_type, left_time=v.probe_time, right_time=v.time,
                        versioned=v.name, latest_only=v.latest_only, **join)
