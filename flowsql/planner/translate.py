"""Logical plan → :class:`~flowsql.physical.graph.JobGraph` (the planner's last stage).

Layering: this stage reads the logical plan (:mod:`flowsql.planner.logical`, changelog modes,
validation), so it belongs to the planner; it writes the JobGraph of :mod:`flowsql.physical`,
the plain-data contract below both the planner and the runtime (architecture §1). Keeping it
in ``flowsql/physical`` made physical and planner import each other.

Contract:
- :func:`translate` turns one or more planned sinks (one per INSERT of a statement set, or the
  client sink of a SELECT) into ONE job graph. Per sink, operators are emitted inputs first:
  ``source`` (the connector reader; watermark generation with the rowtime expression and
  delay; batch size / latency bound from mini-batch settings; idle timeout; ``project``: the
  only columns an append-only source of a ``can_project`` connector reads, those the scan's
  output, computed columns, filter and watermark read, see :func:`_source_projection`; the
  union of those over all scans with otherwise equal params, so that they stay shareable:
  :meth:`_Builder.plan_projections`) → ``calc``
  (projection of the needed columns, computed columns, pushed filter) → ``calc`` ... →
  (exchange) → ``window-aggregate`` | ``session-window`` | ``group-aggregate`` → ``calc`` →
  ``collect-sink`` | ``sink``; a join reads its two inputs' operators (left first) into a
  ``join`` hash-partitioned on each side's keys. A two-phase aggregation (``two_phase`` on the logical node)
  puts ``local-window-aggregate`` / ``local-group-aggregate`` before the exchange, at the
  upstream parallelism, and gives the keyed operator ``merge`` + the raw ``input`` schema.
- Source reuse (Flink's ``table.optimizer.reuse-source-enabled``, on by default): scans with
  the same source params (table and its options, watermark, idle timeout, batch settings,
  changelog mode) are read by ONE ``source`` operator whose output fans out to every
  consumer — a self-join, a table read twice in one query (Nexmark q5, q7), the INSERTs of a
  statement set. Each consumer keeps its own ``calc`` (projection, computed columns, pushed
  filter) after the shared source, at the source's parallelism; the shared source reads the
  union of the columns its scans need. Scans whose other params differ (watermark, options)
  get sources of their own. With the option off, every scan has its own source.
- Sub-plan reuse (Flink's ``table.optimizer.reuse-sub-plan-enabled``, on by default):
  :meth:`_Builder.node` translates a sub-plan once per fingerprint (:func:`_fingerprint`:
  node class, every field, inputs' fingerprints — exact, so sub-plans that differ anywhere
  stay apart) and hands every later use the same operator, whose output fans out to each
  consumer with that consumer's own edge (forward, hash on its keys, rebalance); a self-join
  or UNION ALL of one subquery reads it on two inputs. Nexmark q5's HOP count, written twice,
  runs once (Flink's plan shows it as ``Reused``). Modes, params and uids are those of the
  first use (equal sub-plans have equal changelog modes); an operator feeding several edges
  ends its chain. Not shared: sub-plans calling a non-deterministic built-in or writing late
  rows to a side table, and, with source reuse off, any sub-plan that reads a source.
- Parallelism: every operator runs with ``parallelism`` ('parallelism.default'), except an
  aggregation without GROUP BY keys (parallelism 1). Edges are ``forward`` between equal
  parallelisms (so they chain into one task), ``hash[keys]`` into a keyed aggregation and
  ``rebalance`` otherwise.
- Operator ids are ``<n>-<kind>`` numbered in emission order, so they are stable for a given
  plan (they name metrics and errors). Operator uids (they name state in checkpoints and
  savepoints) are ``<kind>-<k>``, the k-th operator of that kind: the same at any
  parallelism, because a two-phase plan adds only stateless local operators. Params are plain JSON (see the operator
  registry for each kind's params).
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any

from flowsql.messages import ROW_KIND
from flowsql.physical.graph import Edge, JobGraph, OperatorSpec
from flowsql.planner.lateral import Correlate
from flowsql.planner.logical import (
    Calc,
    GroupAggregate,
    Join,
    LogicalNode,
    Scan,
    Schema,
    Sink,
    Union,
    Values,
    WindowAggregate,
    names,
)
from flowsql.planner.rules.join_filter_pushdown import VOLATILE

# Operator kinds whose state is one format (uids count them together; see Builder.add).
STATE_FAMILY: dict[str, str] = {}
COLLECT_RESOURCE = "collect"
VALUES_ROW = "$values_row"  # the row-number column of a Values node's source


@dataclass
class SourceSettings:
    batch_size: int | None = None
    allow_latency_ms: int | None = None
    reuse_sources: bool = True  # 'table.optimizer.reuse-source-enabled'
    reuse_sub_plans: bool = True  # 'table.optimizer.reuse-sub-plan-enabled'


def _schema_json(schema: Schema) -> list[list[str]]:
    return [[f.name, f.type] for f in schema]


@dataclass
class _Builder:
    parallelism: int
    settings: SourceSettings
    operators: list[OperatorSpec] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    collect_sinks: int = 0
    modes: dict[int, str] = field(default_factory=dict)  # changelog mode per logical node
    # source operators by their params: scans with equal params share one (source reuse)
    sources: dict[str, OperatorSpec] = field(default_factory=dict)
    # the columns each source reads (``project``), by its params without them: the union
    # over every scan with those params (None: all columns), so that they stay shareable
    projections: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    # sub-plan reuse: the operator each translated sub-plan ends in, by its fingerprint
    # (see :func:`_fingerprint`), and the fingerprint of each node (None: not reusable)
    reused: dict[str, OperatorSpec] = field(default_factory=dict)
    fingerprints: dict[int, str | None] = field(default_factory=dict)
    # whether any node needs watermarks (flowsql.planner.event_time); if not, sources
    # generate none and do not read the columns of their watermark expression
    event_time: bool = True

    def add(self, kind: str, name: str, params: dict[str, Any], parallelism: int) -> OperatorSpec:
        # uid: stable across parallelism (a two-phase plan adds only stateless local
        # operators, and the global one keeps the single-phase operator's state format)
        family = STATE_FAMILY.get(kind, kind)
        same = sum(1 for o in self.operators if STATE_FAMILY.get(o.kind, o.kind) == family)
        op = OperatorSpec(f"{len(self.operators) + 1}-{kind}", kind, params, parallelism, name,
                          uid=f"{family}-{same + 1}")
        self.operators.append(op)
        return op

    def connect(self, src: OperatorSpec, dst: OperatorSpec, keys: tuple[str, ...] = ()) -> None:
        if keys and dst.parallelism > 1:
            self.edges.append(Edge(src.id, dst.id, "hash", keys))
        elif src.parallelism == dst.parallelism:
            self.edges.append(Edge(src.id, dst.id, "forward"))
        else:
            self.edges.append(Edge(src.id, dst.id, "rebalance"))

    # -- nodes -------------------------------------------------------------------------------
    def node(self, n: LogicalNode) -> OperatorSpec:
        """The operator that produces ``n``'s rows: translated once per structurally identical
        sub-plan when sub-plan reuse is on (every later consumer reads the first one's
        operator, which fans out), else once per node."""
        key = _fingerprint(n, self.fingerprints, self.settings) if self.settings.reuse_sub_plans else None
        if key is not None and key in self.reused:
            return self.reused[key]
        op = self._translate(n)
        if key is not None:
            self.reused[key] = op
        return op

    def _translate(self, n: LogicalNode) -> OperatorSpec:
        if isinstance(n, Scan):
            return self.scan(n)
        if isinstance(n, Values):
            return self.values(n)
        if isinstance(n, Calc):
            up = self.node(n.input)
            params = _calc_params(n.input.schema, n.projections, n.condition, n.schema)
            if self.modes.get(id(n.input), "append") != "append":
                params["input"].append([ROW_KIND, "TINYINT NOT NULL"])  # passed through
            op = self.add("calc", "Calc", params, up.parallelism)
            self.connect(up, op)
            return op
        if isinstance(n, WindowAggregate):
            return self.window(n)
        if isinstance(n, GroupAggregate):
            up = self.node(n.input)
            p = self.parallelism if n.spec.keys else 1
            params = {"spec": n.spec.to_dict(), "having": n.having,
                      "output": _schema_json(n.schema)}
            if n.state_ttl_ms is not None:
                params["state_ttl_ms"] = n.state_ttl_ms  # a STATE_TTL hint: wins over config
            display = "GroupAggregate"
            if n.two_phase:
                local = self.add("local-group-aggregate", "LocalGroupAggregate",
                                 {"spec": n.spec.to_dict()}, up.parallelism)
                self.connect(up, local)
                up = local
                params["merge"] = True
                params["input"] = _schema_json(n.input.schema)
                display = "GlobalGroupAggregate"
            kind = "group-aggregate"
            if any(a.function == "PYTHON_UDAF" for a in n.spec.aggs):  # Python aggregates
                kind, display = "python-group-aggregate", "PythonGroupAggregate"
            op = self.add(kind, display, params, p)
            self.connect(up, op, n.spec.keys)
            return op
        if isinstance(n, Join):
            return self.join(n)
        if isinstance(n, Correlate):  # LATERAL TABLE(f(x)) (flowsql.planner.lateral)
            up = self.node(n.input)
            op = self.add("correlate", "Correlate", n.params(), up.parallelism)
            self.connect(up, op)
            return op
        if hasattr(n, "operator_params"):  # a window table function (planner.window_joins)
            up = self.node(n.input)
            kind, display, params = n.operator_params()
            op = self.add(kind, display, params, up.parallelism)
            self.connect(up, op)
            return op
        if isinstance(n, Union):
            ups = [self.node(k) for k in n.children]
            op = self.add("union", "Union", {"inputs": len(ups)}, self.parallelism)
            for up in ups:
                self.connect(up, op)
            return op
        if hasattr(n, "translate"):  # nodes of their own modules (ranking)
            return n.translate(self)
        raise TypeError(f"cannot translate {type(n).__name__}")

    def _source_params(self, n: Scan) -> tuple[dict[str, Any], str]:
        """The source operator's params for a scan, before ``project``, and its changelog mode."""
        from flowsql.planner.validate import source_changelog_mode

        t = n.table
        params: dict[str, Any] = {"table": t.to_json(), "idle_timeout_ms": n.idle_timeout_ms}
        if n.watermark is not None and self.event_time:
            params["watermark"] = {"expression": n.watermark.expression, "delay_ms": n.watermark.delay_ms}
        if self.settings.batch_size:
            params["batch_size"] = self.settings.batch_size
        if self.settings.allow_latency_ms is not None:
            params["allow_latency_ms"] = self.settings.allow_latency_ms
        mode = source_changelog_mode(t)
        if mode != "append":
            params["changelog"] = mode  # the source's rows carry ROW_KIND (EXPLAIN shows it)
        return params, mode

    def plan_projections(self, roots: list[LogicalNode]) -> None:
        """Before translating: the columns every source reads, the union over the scans that
        would share it (with reuse off, scans with equal params still read the same columns)."""
        seen: set[int] = set()

        def walk(n: LogicalNode) -> None:
            if id(n) in seen:
                return
            seen.add(id(n))
            for i in n.inputs:
                walk(i)
            if isinstance(n, Scan):
                params, mode = self._source_params(n)
                key = json.dumps(params, sort_keys=True)
                physical = _physical_schema(n.table)
                project = _source_projection(n, n.table, physical, mode, self.event_time)
                if key in self.projections:
                    before = self.projections[key]
                    project = None if before is None or project is None else set(before) | set(project)
                if project is not None:
                    project = tuple(f.name for f in physical if f.name in project)
                    project = None if len(project) == len(physical) else project
                self.projections[key] = project

        for root in roots:
            walk(root)

    def scan(self, n: Scan) -> OperatorSpec:
        t = n.table
        params, mode = self._source_params(n)
        physical = _physical_schema(t)
        project = self.projections.get(json.dumps(params, sort_keys=True))
        if project is not None:
            params["project"] = list(project)  # the source reads only these columns
            physical = tuple(f for f in physical if f.name in project)
        key = json.dumps(params, sort_keys=True)
        if n.watermark is not None and self.event_time:
            params["watermark"] = {"expression": n.watermark.expression, "delay_ms": n.watermark.delay_ms}
        src = self.sources.get(key) if self.settings.reuse_sources else None
        if src is None:  # else another scan reads the same: its source fans out to this one
            src = self.add("source", f"Source({t.name.name})", params, self.parallelism)
            self.sources.setdefault(key, src)
        src, physical = self._changelog_source(t, src, physical, mode)
        from flowsql.planner.aggregates import col, sql

        computed = dict(n.computed)
        projections = tuple((f.name, computed.get(f.name, sql(col(f.name)))) for f in n.schema)
        identity = n.filter is None and names(n.schema) == [f.name for f in physical] and not n.computed
        if identity:
            return src
        # computed columns may be filtered on: compute first, then filter, then project
        from flowsql.planner.rules.refs import referenced

        if n.filter is not None and referenced(n.filter, set(computed)):
            kind = tuple(f for f in physical if f.name == ROW_KIND)  # passed through
            full = tuple(f for f in physical if f.name != ROW_KIND) + tuple(
                f for f in n.schema if f.name in computed
            )
            first = tuple((f.name, computed.get(f.name, sql(col(f.name)))) for f in full)
            calc1 = self.add("calc", "Calc", _calc_params(physical, first, None, full), self.parallelism)
            self.connect(src, calc1)
            projections2 = tuple((f.name, sql(col(f.name))) for f in n.schema)
            calc2 = self.add("calc", "Calc", _calc_params(full + kind, projections2, n.filter, n.schema),
                             self.parallelism)
            self.connect(calc1, calc2)
            return calc2
        calc = self.add("calc", "Calc", _calc_params(physical, projections, n.filter, n.schema), self.parallelism)
        self.connect(src, calc)
        return calc

    def _changelog_source(self, t: Any, src: OperatorSpec, physical: Schema,
                          mode: str) -> tuple[OperatorSpec, Schema]:
        """A changelog source's batches carry the row kind: the calcs after it pass it
        through, and an upsert source is normalized first (``changelog-normalize``, hash-
        partitioned on the primary key), before any filter sees its rows."""
        from flowsql.planner.logical import Field

        if mode == "append":
            return src, physical
        with_kind = physical + (Field(ROW_KIND, "TINYINT NOT NULL"),)
        if mode == "upsert":
            keys = tuple(t.primary_key.columns)
            op = self.add("changelog-normalize", "ChangelogNormalize",
                          {"keys": list(keys), "input": _schema_json(with_kind)}, self.parallelism)
            self.connect(src, op, keys)
            src = op
        return src, with_kind

    def join(self, n: Join) -> OperatorSpec:
        """``join`` at the job parallelism; each input hash-partitioned on its key columns
        (input 0 = left, 1 = right)."""
        from flowsql.planner.changelog import APPEND
        from flowsql.planner.joins import check_join_columns

        check_join_columns(n)
        left, right = self.node(n.left), self.node(n.right)
        params: dict[str, Any] = {
            "join_type": n.join_type,
            "left": _schema_json(n.left.schema),
            "right": _schema_json(n.right.schema),
            "left_keys": list(n.left_keys),
            "right_keys": list(n.right_keys),
            "output": _schema_json(n.schema),
            "residual": n.residual,
            "changelog": self.modes.get(id(n), APPEND) != APPEND,
        }
        if n.state_ttl_ms != (None, None):
            params["state_ttl_ms"] = list(n.state_ttl_ms)
        kind, display, extra = ("join", f"{n.join_type.capitalize()}Join", {})
        if hasattr(n, "physical"):  # a time-bounded join (flowsql.planner.interval_joins)
            kind, display, extra = n.physical()
        params.update(extra)
        # a join without keys runs on one subtask (every row has the same key)
        op = self.add(kind, display, params, self.parallelism if n.left_keys else 1)
        self.connect(left, op, n.left_keys)
        self.connect(right, op, n.right_keys)
        return op

    def values(self, n: Values) -> OperatorSpec:
        """A ``values-source`` of row numbers (one subtask) and a Calc picking each row's
        expressions by number: the rows stay SQL text in the plan (no Python values to
        serialize) and are evaluated vectorized, once."""
        from flowsql.sql.generator import quote

        src = self.add("values-source", "Values", {"schema": [[VALUES_ROW, "INT NOT NULL"]],
                                                   "rows": [[i] for i in range(len(n.rows))]}, 1)
        row = quote(VALUES_ROW)
        projections = []
        for j, f in enumerate(n.schema):
            cells = [r[j] for r in n.rows]
            if len(cells) == 1:
                e = cells[0]
            else:
                e = "CASE " + " ".join(f"WHEN {row} = {i} THEN {c}" for i, c in enumerate(cells)) + " END"
            projections.append((f.name, e))
        from flowsql.planner.logical import Field

        calc = self.add("calc", "Calc", _calc_params((Field(VALUES_ROW, "INT NOT NULL"),),
                                                     tuple(projections), None, n.schema), 1)
        self.connect(src, calc)
        return calc

    def window(self, n: WindowAggregate) -> OperatorSpec:
        up = self.node(n.input)
        spec = n.spec
        p = self.parallelism if spec.keys else 1
        session = spec.window.kind == "SESSION"
        kind = "session-window" if session else "window-aggregate"
        if any(a.function == "PYTHON_UDAF" for a in spec.aggs):  # Python aggregates
            kind = "python-window-aggregate"
        params: dict[str, Any] = {"spec": spec.to_dict()}
        if n.late_sink is not None:
            params["late_sink"] = {"table": n.late_sink.to_json()}
        display = spec.window.kind.capitalize() + "WindowAggregate"
        if n.two_phase:
            local = self.add("local-window-aggregate", "Local" + display,
                             {"spec": spec.to_dict(), "input": _schema_json(n.input.schema)},
                             up.parallelism)
            self.connect(up, local)
            up = local
            params["merge"] = True
            params["input"] = _schema_json(n.input.schema)
            display = "Global" + display
        op = self.add(kind, display, params, p)
        self.connect(up, op, spec.keys)
        return op

    def sink(self, s: Sink) -> OperatorSpec:
        up = self.node(s.input)
        if s.table is None:
            self.collect_sinks += 1
            op = self.add("collect-sink", "CollectSink", {"result": COLLECT_RESOURCE}, up.parallelism)
        else:
            op = self.add("sink", f"Sink({s.table.name.name})",
                          {"table": s.table.to_json(), "input": _schema_json(s.schema)}, up.parallelism)
        self.connect(up, op)
        return op


# the non-deterministic built-ins by name, case-sensitive (unlike VOLATILE): expressions in
# the plan are generated SQL (function names upper case), while a repr's field names are lower
# case (``proctime=`` of a window spec) and must not opt a sub-plan out
_VOLATILE_CALL = re.compile(VOLATILE.pattern)


def _fingerprint(n: LogicalNode, memo: dict[int, str | None], settings: SourceSettings) -> str | None:
    """The text that identifies ``n``'s sub-plan exactly: its class (module and name), then
    every dataclass field by name — the ``repr`` of a plain value (the logical plan is frozen
    dataclasses of strings, numbers, tuples and specs), an input node by its own fingerprint.
    Two nodes with equal fingerprints compute the same rows; nodes that differ in any field,
    or in any input at any depth, differ here. (``LogicalNode.__eq__`` compares EXPLAIN labels,
    which leave fields out, e.g. a scan's pruned columns; this does not.)

    None (never shared, nor anything above it) for a sub-plan that must run once per use:
    one that calls a non-deterministic built-in (``RAND``, ``UUID``, ``NOW``, ``CURRENT_…``,
    ``PROCTIME``…; matched by upper-case name in its expressions, so an upper-case column
    named like one also opts out), writes late rows to a side table (``late_sink``), or reads a source while
    source reuse is off (as in Flink, a sub-plan with a scan is then never reused)."""
    if id(n) in memo:
        return memo[id(n)]
    key: str | None = None
    parts = [f"{type(n).__module__}.{type(n).__qualname__}"]
    for f in dataclasses.fields(n):
        value = getattr(n, f.name)
        kids = value if isinstance(value, tuple) and value and all(
            isinstance(v, LogicalNode) for v in value) else None
        if isinstance(value, LogicalNode):
            kids = (value,)
        if kids is not None:
            prints = [_fingerprint(k, memo, settings) for k in kids]
            if any(p is None for p in prints):
                break
            parts.append(f"{f.name}=[" + ", ".join(f"<{p}>" for p in prints) + "]")
            continue
        text = repr(value)
        if f.name == "late_sink" and value is not None:
            break
        if f.name != "table" and _VOLATILE_CALL.search(text):  # table: its definition, not SQL run here
            break
        parts.append(f"{f.name}={text}")
    else:
        reads_source = isinstance(n, Scan | Values) or not n.inputs
        if settings.reuse_sources or not reads_source:
            key = "(" + ", ".join(parts) + ")"
    memo[id(n)] = key
    return key


def _physical_schema(table: Any) -> Schema:
    """The columns the table's source delivers (physical, then metadata it reads)."""
    from connectors.base import source_columns
    from connectors.registry import factory_for
    from flowsql.planner.logical import Field
    from flowsql.types import parse_type

    return tuple(Field(c.name, str(parse_type(c.data_type or "STRING")))
                 for c in source_columns(table, factory_for(table)))


def _source_projection(n: Scan, table: Any, physical: Schema, mode: str,
                       event_time: bool = True) -> tuple[str, ...] | None:
    """The source columns the scan reads, when its connector can read only those
    (``ConnectorFactory.can_project``) and they are fewer than all; else None (read all).

    Read: the fields of the scan's output that are source columns, the columns its computed
    columns, pushed filter and watermark expression read (the watermark is evaluated on the
    raw source batch), and ``Scan.columns`` (projection pruning's answer). At least one
    column, so batches keep their row count. A changelog source (``mode`` other than
    append) reads all its columns: its format decodes whole rows with their row kind."""
    from connectors.registry import factory_for
    from flowsql.planner.rules.refs import referenced

    if mode != "append" or not getattr(factory_for(table), "can_project", False):
        return None
    available = {f.name for f in physical}
    computed = dict(n.computed)
    need = {c for c in n.columns if c in available}
    for name in [f.name for f in n.schema] + sorted(referenced(n.filter, set(computed))):
        need |= referenced(computed[name], available) if name in computed else ({name} & available)
    need |= referenced(n.filter, available)
    if n.watermark is not None and event_time:
        need |= referenced(n.watermark.expression, available)
    if not need:
        need = {physical[0].name}
    if len(need) == len(available):
        return None
    return tuple(f.name for f in physical if f.name in need)


def _calc_params(
    input_schema: Schema,
    projections: tuple[tuple[str, str], ...],
    condition: str | None,
    output: Schema,
) -> dict[str, Any]:
    return {
        "input": _schema_json(input_schema),
        "projections": [[n, e] for n, e in projections],
        "filter": condition,
        "output": _schema_json(output),
    }


def translate(
    sinks: list[Sink] | Sink,
    *,
    name: str = "flowsql-job",
    parallelism: int = 1,
    settings: SourceSettings | None = None,
) -> JobGraph:
    sinks = [sinks] if isinstance(sinks, Sink) else list(sinks)
    from flowsql.planner.changelog import infer
    from flowsql.planner.event_time import needs_event_time

    b = _Builder(max(int(parallelism), 1), settings or SourceSettings())
    b.event_time = needs_event_time(list(sinks))
    b.plan_projections(list(sinks))
    for s in sinks:
        b.modes.update(infer(s))
        b.sink(s)
    return JobGraph(name, tuple(b.operators), tuple(b.edges)).validate()


def settings_from_config(config: Any) -> SourceSettings:
    """Mini-batch settings → source batch size / latency bound (only when set or enabled)."""
    from flowsql.planner.validate import duration_option

    explicit = config.items()
    enabled = config.get_bool("table.exec.mini-batch.enabled")
    out = SourceSettings(reuse_sources=config.get_bool("table.optimizer.reuse-source-enabled"),
                         reuse_sub_plans=config.get_bool("table.optimizer.reuse-sub-plan-enabled"))
    if enabled or "table.exec.mini-batch.size" in explicit:
        try:
            out.batch_size = max(int(config.get("table.exec.mini-batch.size")), 1)
        except (TypeError, ValueError):
            from flowsql.errors import ValidationError

            raise ValidationError("'table.exec.mini-batch.size' must be an integer") from None
    if enabled or "table.exec.mini-batch.allow-latency" in explicit:
        out.allow_latency_ms = duration_option(config.get("table.exec.mini-batch.allow-latency"),
                                               "table.exec.mini-batch.allow-latency")
    return out


def parallelism_from_config(config: Any) -> int:
    from flowsql.errors import ValidationError

    try:
        p = int(config.get("parallelism.default") or 1)
    except ValueError:
        raise ValidationError("'parallelism.default' must be a positive integer") from None
    if p < 1:
        raise ValidationError("'parallelism.default' must be a positive integer")
    if p > 1 and embedded_clamp(config):
        return 1
    return p


def embedded_clamp(config: Any) -> bool:
    """True when jobs run embedded with 'execution.embedded.parallelism' = 'clamp': the
    parallelism is then 1 whatever 'parallelism.default' says (see flowsql.config)."""
    return (config.get("execution.target") or "local") == "local" and (
        config.get("execution.embedded.parallelism") or "clamp") == "clamp"
