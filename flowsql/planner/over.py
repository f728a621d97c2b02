"""OVER aggregation in the select list → an :class:`OverAggregate` node (Flink's
``StreamPhysicalOverAggregate``) on event time, or an :class:`UpdatingOverAggregate` over an
updating input.

Contract:
- :func:`plan_over` plans a SELECT whose list holds ``f(x) OVER (PARTITION BY … ORDER BY …
  [ROWS | RANGE] …)`` (inline or ``OVER w`` with ``WINDOW w AS (…)``), f one of SUM, COUNT
  (also ``COUNT(*)``), AVG, MIN, MAX: a Calc adds the arguments, partition keys and (updating
  input) sort keys that are expressions (hidden ``$over…`` columns), the node appends one
  column per call, and the select list is projected over it with each OVER call replaced by
  its column (so ``v - AVG(v) OVER w`` works). The frame ends at CURRENT ROW; all calls of
  one SELECT share one window; no frame means RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT
  ROW.
- Over an append-only input, as in Flink: ORDER BY must be one ascending event-time
  attribute ("OVER windows' ordering in stream mode must be defined on a time attribute");
  ROWS takes a row count, RANGE an INTERVAL (or UNBOUNDED / CURRENT ROW). Output is
  append-only. Operator ``over-aggregate`` (:mod:`flowsql.operators.over_aggregate`).
  ORDER BY a processing-time attribute (``PROCTIME()``) orders rows by their arrival at the
  operator (:mod:`flowsql.operators.over_proctime`), as in Flink.
- Over an updating input (a GROUP BY, Top-N, outer join, … upstream; Flink rejects this):
  ORDER BY any columns or expressions, ASC or DESC, NULLS FIRST or LAST; ROWS frames
  (``N PRECEDING`` or ``UNBOUNDED PRECEDING``), RANGE from UNBOUNDED PRECEDING (also the
  default frame) and bounded RANGE frames over one sort key — an integer with a number
  (``RANGE BETWEEN 3 PRECEDING AND CURRENT ROW``) or a TIMESTAMP with an INTERVAL (other
  RANGE frames are NotSupportedError). Output is a changelog: applied, it is the batch answer over the input
  as it stands. Operator ``over-aggregate-updating`` (:mod:`flowsql.operators.over_updating`).
- Not supported (NotSupportedError): DISTINCT calls, other functions, OVER together with
  GROUP BY / HAVING / SELECT DISTINCT, SUM/AVG over DECIMAL, MIN/MAX over non-numeric,
  non-temporal columns.
- Both nodes are hash-partitioned on the partition keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.operators.over_aggregate import OverSpec
from flowsql.operators.over_updating import UpdatingOverSpec
from flowsql.planner.aggregates import col, sql
from flowsql.planner.appending import AppendingNode
from flowsql.planner.joins import _position
from flowsql.planner.logical import Calc, Field, names

if TYPE_CHECKING:
    from flowsql.planner.builder import PlanBuilder, Relation

_FUNCTIONS = {exp.Sum: "SUM", exp.Count: "COUNT", exp.Avg: "AVG", exp.Min: "MIN", exp.Max: "MAX"}
TIME_ORDER = "OVER windows' ordering in stream mode must be defined on a time attribute"


@dataclass(frozen=True, eq=False)
class OverAggregate(AppendingNode):
    spec: OverSpec = field(default=None)  # type: ignore[assignment]

    def label(self) -> str:
        s = self.spec
        start = "UNBOUNDED" if s.preceding is None else (
            f"{s.preceding}" if s.rows else f"{s.preceding} ms")
        frame = f"{'ROWS' if s.rows else 'RANGE'} BETWEEN {start} PRECEDING AND CURRENT ROW"
        calls = ", ".join(("COUNT(*)" if f == "COUNT_STAR" else f"{f}({a})") + f" AS {o}"
                          for f, a, o in s.calls)
        return (f"OverAggregate(partitionBy=[{', '.join(s.partition_keys)}], orderBy=[{s.time_column} "
                f"ASC], window=[{frame}], select=[{calls}])")

    def changelog_mode(self, ins: list[str]) -> str:
        if ins and ins[0] != "append":
            raise NotSupportedError("OVER aggregation over an updating input (e.g. over an "
                                    "unbounded GROUP BY)")
        return "append"

    def reads(self) -> set[str]:
        s = self.spec
        return set(s.partition_keys) | {s.time_column} | {a for _, a, _ in s.calls if a}

    def translate(self, b: Any) -> Any:
        from flowsql.planner.translate import _schema_json

        params = {"spec": self.spec.to_dict(), "input": _schema_json(self.input.schema),
                  "output": _schema_json(self.schema)}
        return self.operator(b, "over-aggregate", "OverAggregate", params, self.spec.partition_keys)


@dataclass(frozen=True, eq=False)
class UpdatingOverAggregate(AppendingNode):
    """OVER over an updating input (:mod:`flowsql.operators.over_updating`): a changelog."""

    spec: UpdatingOverSpec = field(default=None)  # type: ignore[assignment]

    def label(self) -> str:
        s = self.spec
        start = "UNBOUNDED" if s.preceding is None else f"{s.preceding}"
        kind = "ROWS" if s.rows else "RANGE"
        order = ", ".join(f"{c} {'DESC' if d else 'ASC'} NULLS {'FIRST' if n else 'LAST'}"
                          for c, d, n in s.order)
        calls = ", ".join(("COUNT(*)" if f == "COUNT_STAR" else f"{f}({a})") + f" AS {o}"
                          for f, a, o in s.calls)
        return (f"OverAggregate(partitionBy=[{', '.join(s.partition_keys)}], orderBy=[{order}], "
                f"window=[{kind} BETWEEN {start} PRECEDING AND CURRENT ROW], select=[{calls}], "
                "updating=[true])")

    def changelog_mode(self, ins: list[str]) -> str:
        return "retract"

    def reads(self) -> set[str]:
        s = self.spec
        return set(s.partition_keys) | {c for c, _, _ in s.order} | {a for _, a, _ in s.calls if a}

    def translate(self, b: Any) -> Any:
        from flowsql.planner.translate import _schema_json

        params = {"spec": self.spec.to_dict(), "input": _schema_json(self.input.schema),
                  "output": _schema_json(self.schema)}
        return self.operator(b, "over-aggregate-updating", "OverAggregate", params,
                             self.spec.partition_keys)


def has_over(select: exp.Select) -> bool:
    return any(e.find(exp.Window) is not None for e in select.expressions)


def _definition(w: exp.Window, select: exp.Select) -> exp.Window:
    """The window an OVER call uses: inline, or named in the WINDOW clause."""
    if w.args.get("partition_by") or w.args.get("order") or w.args.get("spec"):
        return w
    name = w.args.get("alias")
    for d in select.args.get("windows") or []:
        if name is not None and d.this is not None and d.this.name == name.name:
            return d
    return w


def _frame(w: exp.Window, numeric_range: bool = False) -> tuple[bool, int | None]:
    """(ROWS?, how far back: rows, RANGE milliseconds — or, with ``numeric_range``, a RANGE
    number literal —, None for UNBOUNDED)."""
    from flowsql.planner.windows import interval_ms

    spec = w.args.get("spec")
    if spec is None:
        return False, None
    end = spec.args.get("end")
    if end not in (None, "CURRENT ROW"):
        raise NotSupportedError("an OVER frame that ends after CURRENT ROW",
                                hint="… PRECEDING AND CURRENT ROW")
    rows = str(spec.args.get("kind")).upper() == "ROWS"
    start = spec.args.get("start")
    if start == "UNBOUNDED":
        return rows, None
    if start == "CURRENT ROW":
        return rows, 0
    if spec.args.get("start_side") != "PRECEDING":
        raise NotSupportedError("an OVER frame that starts after CURRENT ROW")
    count = isinstance(start, exp.Literal) and not start.is_string and start.this.isdigit()
    if rows or (numeric_range and count):
        if not count:
            raise ValidationError(f"ROWS frames take a row count: {sql(start)} PRECEDING")
        return rows, int(start.this)
    if not isinstance(start, exp.Interval):
        raise ValidationError(f"RANGE frames over a time attribute take an INTERVAL: {sql(start)} PRECEDING",
                              hint="RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW")
    return False, interval_ms(start)


def plan_over(b: PlanBuilder, select: exp.Select, rel: Relation) -> Relation:
    from flowsql.planner.builder import Relation, _merge_calc, expr_type, type_text

    if select.args.get("group") or select.args.get("having") or select.args.get("distinct"):
        raise NotSupportedError("OVER aggregation together with GROUP BY, HAVING or DISTINCT")
    if rel.window is not None:
        raise NotSupportedError("OVER aggregation over a window TVF")
    items = b._items(select, rel)
    schema = rel.node.schema
    types = {f.name: f.type for f in schema}
    pre: list[tuple[str, str]] = [(n, sql(col(n))) for n in names(schema)]
    pre_fields = list(schema)

    def column_for(e: exp.Expression, hidden: str) -> str:
        if isinstance(e, exp.Column) and not e.table and e.name in types:
            return e.name
        pre.append((hidden, sql(e)))
        pre_fields.append(Field(hidden, type_text(expr_type(e, schema, b.config))))
        return hidden

    from flowsql.planner.changelog import is_updating

    updating = is_updating(rel.node)
    sort: tuple[tuple[str, bool, bool], ...] = ()
    window: tuple[str, ...] | None = None
    calls: list[tuple[str, str | None, str]] = []
    partition: list[str] = []
    time_column, frame, proctime = "", (False, None), False
    out_items = []
    for name, e in items:
        e = e.copy()
        for w in list(e.find_all(exp.Window)):
            d = _definition(w, select)
            key = (tuple(sql(p) for p in d.args.get("partition_by") or []),
                   sql(d.args["order"]) if d.args.get("order") else "", sql(d.args["spec"]) if d.args.get("spec") else "")
            if window is None:
                window = key
                partition = [column_for(p, f"$over_p{j}") for j, p in enumerate(d.args.get("partition_by") or [])]
                order = list(d.args["order"].expressions) if d.args.get("order") else []
                if updating:
                    sort = _updating_order(d, w, order, column_for)
                    frame = _frame(d, numeric_range=True)
                    _check_range(d, sort, frame, {f.name: f.type for f in pre_fields})
                else:
                    proctime = _check_time_order(d, w, order, rel)
                    time_column = order[0].this.name
                    frame = _frame(d)
            elif key != window:
                raise NotSupportedError("OVER aggregations over different windows in one SELECT "
                                        "(all aggregates must be computed on the same window)")
            call = w.this
            fn = next((f for t, f in _FUNCTIONS.items() if isinstance(call, t)), None)
            if fn is None or isinstance(call.this, exp.Distinct):
                raise NotSupportedError(f"{sql(call)} OVER (…)", hint="SUM, COUNT, AVG, MIN and MAX")
            i = len(calls)
            arg = None
            if fn == "COUNT" and isinstance(call.this, exp.Star):
                fn = "COUNT_STAR"
            else:
                arg = column_for(call.this, f"$over_in{i}")
            calls.append((fn, arg, f"$over{i}"))
            if w is e:
                e = col(f"$over{i}")
            else:
                w.replace(col(f"$over{i}"))
        out_items.append((name, e))
    # the pre-projection, the aggregate, the select list over it
    pre_calc = Calc(schema=tuple(pre_fields), input=rel.node, projections=tuple(pre))
    inp = rel.node if pre_calc.is_identity else _merge_calc(pre_calc)
    in_types = {f.name: f.type for f in inp.schema}
    out_fields = [Field(o, _output_type(f, a, in_types)) for f, a, o in calls]
    if updating:
        node: AppendingNode = UpdatingOverAggregate(
            schema=inp.schema + tuple(out_fields), input=inp,
            spec=UpdatingOverSpec(tuple(partition), sort, frame[1], tuple(calls), frame[0]))
    else:
        spec = OverSpec(tuple(partition), time_column, frame[0], frame[1], tuple(calls), proctime)
        node = OverAggregate(schema=inp.schema + tuple(out_fields), input=inp, spec=spec)
    return b._project(Relation(node, rel.aliases, set(rel.time_attrs)), out_items)


def _check_time_order(d: exp.Window, w: exp.Window, order: list[exp.Ordered], rel: Relation) -> bool:
    """As in Flink, over an append-only input: ORDER BY one ascending time attribute, event
    time or processing time (then True)."""
    if len(order) == 1 and isinstance(order[0].this, exp.Column) and order[0].this.name in rel.proc_attrs \
            and not order[0].args.get("desc"):
        return True
    if len(order) != 1 or not isinstance(order[0].this, exp.Column) or order[0].args.get("desc") \
            or order[0].this.name not in rel.time_attrs:
        where = _position(d.args["order"]) if order else _position(w)
        raise ValidationError(TIME_ORDER + where,
                              hint="ORDER BY the event-time column (WATERMARK FOR …), ascending")
    return False


def _updating_order(d: exp.Window, w: exp.Window, order: list[exp.Ordered],
                    column_for: Any) -> tuple[tuple[str, bool, bool], ...]:
    """The sort keys of an OVER window over an updating input: any columns or expressions
    (hidden ``$over_o<i>`` columns)."""
    if not order:
        raise ValidationError(f"an OVER aggregation needs an ORDER BY{_position(w)}",
                              hint="PARTITION BY … ORDER BY … ROWS BETWEEN … PRECEDING AND CURRENT ROW")
    return tuple((column_for(o.this, f"$over_o{j}"), bool(o.args.get("desc")), bool(o.args.get("nulls_first")))
                 for j, o in enumerate(order))


def _check_range(d: exp.Window, sort: tuple[tuple[str, bool, bool], ...], frame: tuple[bool, int | None],
                 types: dict[str, str]) -> None:
    """A bounded RANGE frame over an updating input needs one sort key: an integer one with a
    number (``RANGE BETWEEN 3 PRECEDING …``) or a TIMESTAMP with an INTERVAL."""
    from flowsql.types import parse_type

    rows, preceding = frame
    if rows or preceding is None:
        return
    start = d.args["spec"].args.get("start")
    root = parse_type(types[sort[0][0]]).root if len(sort) == 1 else ""
    integral = root in ("TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT")
    timed = root == "TIMESTAMP" and (isinstance(start, exp.Interval) or start == "CURRENT ROW")
    if not (timed or (integral and not isinstance(start, exp.Interval))):
        raise NotSupportedError(
            f"this RANGE frame over an updating input{_position(d.args['order'])}",
            hint="a bounded RANGE frame takes one sort key: an integer with a number (RANGE "
            "BETWEEN 3 PRECEDING AND CURRENT ROW) or a TIMESTAMP with an INTERVAL; or ROWS frames")


def _output_type(fn: str, arg: str | None, types: dict[str, str]) -> str:
    from flowsql.types import parse_type

    if fn in ("COUNT", "COUNT_STAR"):
        return "BIGINT NOT NULL"
    t = parse_type(types[arg or ""]).with_nullable(True)
    root = t.root
    integral = root in ("TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT")
    floating = root in ("FLOAT", "DOUBLE", "REAL")
    if fn == "AVG" and (integral or floating):
        return "DOUBLE"
    if fn == "SUM" and (integral or floating):
        return "BIGINT" if integral else "DOUBLE"
    if fn in ("MIN", "MAX") and (integral or floating or root.startswith("TIMESTAMP")):
        return str(t)
    raise NotSupportedError(f"{fn} OVER (…) of a {t} column", hint="numeric columns (MIN/MAX: also timestamps)")
