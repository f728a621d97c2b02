"""The logical plan: frozen dataclass nodes with one deterministic text form.

Contract:
- A plan is a tree of frozen nodes (:class:`Scan`, :class:`Values`, :class:`Calc`,
  :class:`WindowAggregate`, :class:`GroupAggregate`, :class:`Join`, :class:`Union`,
  :class:`Sink`); every node has an output
  ``schema`` (a tuple of :class:`Field`: column name + Flink type text) and its ``inputs``.
- Expressions are kept as Flink SQL text over the node's *input* columns (the expression
  compiler re-parses them), so nodes are plain data: they compare by value, print
  deterministically and translate to JSON operator params without live objects.
- Aggregations reuse the runtime's frozen specs (:mod:`flowsql.operators.specs`), so the
  planner and the operators agree on column names by construction.
- :func:`explain_plan` is the text form used by EXPLAIN and the golden tests. A full
  printout (the optimized plan of ``tests/planner/fixtures/union_insert.sql``)::

    Sink(table=[default_catalog.default_database.out_print], fields=[k, c])
    +- Calc(select=[k, v AS c])
       +- Union(all=[true], fields=[k, v])
          +- Scan(table=[default_catalog.default_database.events], fields=[k, v], watermark=[ts, delay=1000 ms], where=[k = 1])
          +- Calc(select=[k, CAST(v AS BIGINT) AS v])
             +- Scan(table=[default_catalog.default_database.events], fields=[k, v, name], watermark=[ts, delay=1000 ms], where=[name LIKE 'a%'])

  Window aggregations print as ``WindowAggregate(window=[TUMBLE(ts, size=10000 ms)],
  keys=[k], aggs=[COUNT(*) AS c, SUM(v) AS `EXPR$1`], window_columns=[window_start,
  window_end])`` (``LocalGlobalWindowAggregate`` once split in two phases), unbounded ones as
  ``GroupAggregate(keys=[k], aggs=[...], having=[...])``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from catalog.table import TableDefinition
from flowsql.operators.specs import AggCall, GroupAggregateSpec, WindowAggregateSpec, WindowSpec


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # Flink type text, e.g. 'BIGINT', 'TIMESTAMP(3)', 'ROW<`a` INT>'

    def __str__(self) -> str:
        return f"{self.name} {self.type}"


Schema = tuple[Field, ...]


def names(schema: Schema) -> list[str]:
    return [f.name for f in schema]


@dataclass(frozen=True)
class WatermarkInfo:
    """The rowtime column, its event-time expression over the *physical* columns (SQL text)
    and the bounded out-of-orderness delay in milliseconds."""

    column: str
    expression: str
    delay_ms: int


@dataclass(frozen=True, eq=False)
class LogicalNode:
    schema: Schema

    @property
    def inputs(self) -> tuple[LogicalNode, ...]:
        return ()

    def label(self) -> str:
        raise NotImplementedError

    def replace(self, **changes: Any) -> LogicalNode:
        from dataclasses import replace

        return replace(self, **changes)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and explain_plan(self) == explain_plan(other)  # type: ignore[arg-type]

    def __hash__(self) -> int:
        return hash(explain_plan(self))


@dataclass(frozen=True, eq=False)
class Scan(LogicalNode):
    """Read a catalog table. ``columns`` are the physical columns the source reads (after
    projection pruning); ``computed`` the computed columns evaluated right after it, as
    ``(name, SQL over physical columns)``; ``filter`` a predicate applied right after the
    source (filter pushdown); ``bounded`` whether the connector's input ends."""

    table: TableDefinition = field(default=None)  # type: ignore[assignment]
    columns: tuple[str, ...] = ()
    computed: tuple[tuple[str, str], ...] = ()
    watermark: WatermarkInfo | None = None
    filter: str | None = None
    bounded: bool = True
    idle_timeout_ms: int = 0
    late_sink: TableDefinition | None = None

    def label(self) -> str:
        n = self.table.name
        parts = [f"table=[{n.catalog}.{n.database}.{n.name}]", f"fields=[{', '.join(names(self.schema))}]"]
        if self.computed:
            parts.append("computed=[" + ", ".join(f"{e} AS {c}" for c, e in self.computed) + "]")
        if self.watermark:
            parts.append(f"watermark=[{self.watermark.column}, delay={self.watermark.delay_ms} ms]")
        if self.filter:
            parts.append(f"where=[{self.filter}]")
        if not self.bounded:
            parts.append("unbounded")
        return f"Scan({', '.join(parts)})"


@dataclass(frozen=True, eq=False)
class Values(LogicalNode):
    """Literal rows (``VALUES``, and the one-row input of a SELECT without FROM): a bounded
    source. ``rows`` hold one SQL expression per column (constant: it reads no column),
    already cast to the column's type, so every row has the node's schema."""

    rows: tuple[tuple[str, ...], ...] = ()
    bounded = True

    def label(self) -> str:
        tuples = ", ".join("[" + ", ".join(r) + "]" for r in self.rows)
        return f"Values(tuples=[{tuples}], fields=[{', '.join(names(self.schema))}])"


@dataclass(frozen=True, eq=False)
class Calc(LogicalNode):
    """Projection ``(name, SQL)`` and optional filter (applied first) over ``input``."""

    input: LogicalNode = field(default=None)  # type: ignore[assignment]
    projections: tuple[tuple[str, str], ...] = ()
    condition: str | None = None

    @property
    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)

    def label(self) -> str:
        items = [e if _is_plain(e, n) else f"{e} AS {_q(n)}" for n, e in self.projections]
        text = f"Calc(select=[{', '.join(items)}]"
        if self.condition:
            text += f", where=[{self.condition}]"
        return text + ")"

    @property
    def is_identity(self) -> bool:
        inp = names(self.input.schema)
        return self.condition is None and [n for n, _ in self.projections] == inp and all(
            _is_plain(e, n) for n, e in self.projections
        )


def _q(name: str) -> str:
    from flowsql.sql.generator import quote

    return quote(name)


def _is_plain(expr: str, name: str) -> bool:
    return expr == _q(name)


def _window_text(w: WindowSpec) -> str:
    if w.kind == "TUMBLE":
        args = f"size={w.size_ms} ms"
    elif w.kind == "HOP":
        args = f"slide={w.slide_ms} ms, size={w.size_ms} ms"
    elif w.kind == "CUMULATE":
        args = f"step={w.step_ms} ms, size={w.size_ms} ms"
    else:
        args = f"gap={w.gap_ms} ms"
    if w.offset_ms:
        args += f", offset={w.offset_ms} ms"
    proc = " (proctime)" if w.proctime else ""
    return f"{w.kind}({w.time_column}{proc}, {args})"


def agg_text(a: AggCall) -> str:
    if a.function == "COUNT_STAR":
        text = "COUNT(*)"
    elif a.udf is not None:  # a Python aggregate function: its SQL name and module path
        args = ", ".join(_q(c) for c in (a.input, *a.extra_inputs) if c)
        text = f"{a.udf[0]}[{a.udf[1]}]({args})"
    else:
        text = f"{a.function}({'DISTINCT ' if a.distinct else ''}{_q(a.input or '')})"
    if a.filter:
        text += f" FILTER (WHERE {_q(a.filter)})"
    return f"{text} AS {_q(a.output)}"


@dataclass(frozen=True, eq=False)
class WindowAggregate(LogicalNode):
    """A windowed GROUP BY (TUMBLE/HOP/CUMULATE/SESSION). ``partial`` marks the two-phase
    split: a per-batch local pre-aggregation before the keyed exchange."""

    input: LogicalNode = field(default=None)  # type: ignore[assignment]
    spec: WindowAggregateSpec = field(default=None)  # type: ignore[assignment]
    late_sink: TableDefinition | None = None
    two_phase: bool = False
    # the window of the input's window columns, when this aggregates them again
    # (flowsql.planner.cascaded_windows)
    cascaded: WindowSpec | None = None

    @property
    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)

    def label(self) -> str:
        s = self.spec
        parts = [f"window=[{_window_text(s.window)}]"]
        if self.cascaded is not None:
            parts.append(f"cascaded=[{_window_text(self.cascaded)}]")
        if s.keys:
            parts.append(f"keys=[{', '.join(_q(k) for k in s.keys)}]")
        parts.append(f"aggs=[{', '.join(agg_text(a) for a in s.aggs)}]")
        parts.append(f"window_columns=[{', '.join(s.window_columns)}]")
        if self.late_sink is not None:
            n = self.late_sink.name
            parts.append(f"late=[{n.catalog}.{n.database}.{n.name}]")
        name = "LocalGlobalWindowAggregate" if self.two_phase else "WindowAggregate"
        return f"{name}({', '.join(parts)})"


@dataclass(frozen=True, eq=False)
class GroupAggregate(LogicalNode):
    """An unbounded GROUP BY producing a changelog; ``having`` is SQL over its output.
    ``two_phase`` marks the split into a per-batch local pre-aggregation before the keyed
    exchange and a global merge. ``state_ttl_ms`` is the TTL a ``/*+ STATE_TTL(...) */`` hint
    gives this operator (None: ``table.exec.state.ttl`` applies)."""

    input: LogicalNode = field(default=None)  # type: ignore[assignment]
    spec: GroupAggregateSpec = field(default=None)  # type: ignore[assignment]
    having: str | None = None
    two_phase: bool = False
    state_ttl_ms: int | None = None

    @property
    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)

    def label(self) -> str:
        s = self.spec
        parts = []
        if s.keys:
            parts.append(f"keys=[{', '.join(_q(k) for k in s.keys)}]")
        parts.append(f"aggs=[{', '.join(agg_text(a) for a in s.aggs)}]")
        if self.having:
            parts.append(f"having=[{self.having}]")
        if self.state_ttl_ms is not None:
            parts.append(f"stateTtl=[{self.state_ttl_ms} ms]")
        name = "LocalGlobalGroupAggregate" if self.two_phase else "GroupAggregate"
        return f"{name}({', '.join(parts)})"


JOIN_NAMES = {"INNER": "InnerJoin", "LEFT": "LeftOuterJoin", "RIGHT": "RightOuterJoin",
              "FULL": "FullOuterJoin", "SEMI": "LeftSemiJoin", "ANTI": "LeftAntiJoin"}


@dataclass(frozen=True, eq=False)
class Join(LogicalNode):
    """A regular equi-join. The schema is the left input's columns, then the right input's
    (renamed where a name is taken: ``k`` → ``k0``; the other side of an outer join
    nullable); ``left_keys[i] = right_keys[i]`` (input column names, same types) and the
    ``residual`` (SQL over the output columns) decide a match. ``state_ttl_ms`` is the
    (left, right) TTL of STATE_TTL hints (None: ``table.exec.state.ttl``)."""

    left: LogicalNode = field(default=None)  # type: ignore[assignment]
    right: LogicalNode = field(default=None)  # type: ignore[assignment]
    join_type: str = "INNER"
    left_keys: tuple[str, ...] = ()
    right_keys: tuple[str, ...] = ()
    residual: str | None = None
    state_ttl_ms: tuple[int | None, int | None] = (None, None)
    append_only: ClassVar[bool] = False  # interval and window joins (their own modules)

    @property
    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.left, self.right)

    @property
    def right_names(self) -> list[str]:
        """Output names of the right input's columns."""
        return names(self.schema)[len(self.left.schema):]

    def label(self) -> str:
        out = names(self.schema)
        right = dict(zip(names(self.right.schema), self.right_names, strict=True))
        where = " AND ".join(f"{_q(lk)} = {_q(right[rk])}"
                             for lk, rk in zip(self.left_keys, self.right_keys, strict=True))
        if self.residual:
            where = f"({where}) AND ({self.residual})"
        parts = [f"joinType=[{JOIN_NAMES[self.join_type]}]", f"where=[{where}]",
                 f"select=[{', '.join(out)}]"]
        if self.state_ttl_ms != (None, None):
            parts.append("stateTtl=[" + ", ".join(
                f"{side}={'default' if t is None else f'{t} ms'}"
                for side, t in zip(("left", "right"), self.state_ttl_ms, strict=True)) + "]")
        return f"Join({', '.join(parts)})"


@dataclass(frozen=True, eq=False)
class Union(LogicalNode):
    """UNION ALL of inputs whose schemas already agree (names and types)."""

    children: tuple[LogicalNode, ...] = ()

    @property
    def inputs(self) -> tuple[LogicalNode, ...]:
        return self.children

    def label(self) -> str:
        return f"Union(all=[true], fields=[{', '.join(names(self.schema))}])"


@dataclass(frozen=True, eq=False)
class Sink(LogicalNode):
    """The end of a plan: a catalog table (``table``) or the client (``table=None``)."""

    input: LogicalNode = field(default=None)  # type: ignore[assignment]
    table: TableDefinition | None = None

    @property
    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)

    @property
    def target(self) -> str:
        if self.table is None:
            return "collect"
        n = self.table.name
        return f"{n.catalog}.{n.database}.{n.name}"

    def label(self) -> str:
        return f"Sink(table=[{self.target}], fields=[{', '.join(names(self.schema))}])"


def explain_plan(node: LogicalNode, annotate: Any = None) -> str:
    """The deterministic tree text of a plan (Flink's ``+-`` layout). ``annotate(node)`` may
    return extra text appended to a node's line (EXPLAIN adds changelog modes)."""
    lines: list[str] = []

    def walk(n: LogicalNode, prefix: str, child_prefix: str) -> None:
        extra = annotate(n) if annotate else ""
        lines.append(prefix + n.label() + (f" {extra}" if extra else ""))
        kids = n.inputs
        for i, kid in enumerate(kids):
            last = i == len(kids) - 1
            walk(kid, child_prefix + "+- ", child_prefix + ("   " if last else ":  "))

    walk(node, "", "")
    return "\n".join(lines)


def walk_nodes(node: LogicalNode) -> list[LogicalNode]:
    """Every node, parents before children (pre-order), left to right."""
    out = [node]
    for kid in node.inputs:
        out.extend(walk_nodes(kid))
    return out
