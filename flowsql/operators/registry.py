"""Operator registry: the one table from a spec's ``kind`` to the code that builds it.

Contract (architecture §3.3, Arroyo's constructor table):
- The physical plan says *what* (``OperatorSpec.kind`` + JSON ``params``); this registry says
  *how*: ``OPERATORS[kind](params, env)`` returns a live :class:`~flowsql.operators.base.Operator`
  or, for source kinds, a :class:`~flowsql.operators.source.SourceOperator`. The TaskManager
  builds one object per subtask, so builders must not share mutable state between calls.
- The table is an explicit dict (no self-registration); tests and plugins extend a copy with
  :meth:`OperatorRegistry.with_builders`.
- Imports point down only (architecture §1): the registry imports the operators, the connector
  contract and registry (``connectors.base`` / ``connectors.registry``) and ``catalog.table``,
  all at module level; nothing below imports the registry. The one lazy boundary is the
  connector registry's own: a connector's factory module is imported when a table first names
  it, so building a calc never loads a connector.
- :class:`BuildEnv` carries the operator id, subtask index, parallelism, session config and
  the job's in-process *resources* (objects that cannot travel as JSON, e.g. the
  :class:`~flowsql.operators.sink.CollectResult` a client reads): params name a resource by key.

Built-in kinds and their params (all plain JSON, produced by
:mod:`flowsql.planner.translate`):
- ``source``: ``{"table": <TableDefinition JSON>, "connector"?: str, "watermark"?: {"expression":
  <event-time SQL over the physical columns> | "column": path | "columns": [path, ...],
  "delay_ms": int}, "batch_size"?: int, "allow_latency_ms"?: int, "idle_timeout_ms"?: int,
  "changelog"?: "retract" | "upsert", "project"?: [name, ...]}`` (the rows carry ROW_KIND;
  ``project``: the source columns to read, in source order, for a ``can_project`` connector)
  - a connector's streaming reader (``ConnectorFactory.source_reader``). A given
  ``batch_size`` (a configured mini-batch size) is also the source's ``max_batch_rows``.
- ``values-source``: ``{"schema": [[name, flink type], ...], "rows": [[...], ...],
  "batch_rows"?: int, "watermark"?: ...}`` - literal rows (VALUES, tests).
- ``collect-sink``: ``{"result": <resource key>}``; ``blackhole-sink``: ``{}``;
  ``sink``: ``{"table": <TableDefinition JSON>, "connector"?: str}`` (``ConnectorFactory.sink_writer``).
- ``calc``: ``{"input": [[name, flink type], ...], "projections": [[name, sql], ...],
  "filter": sql | null}`` → :class:`~flowsql.operators.calc.CalcOperator`.
- ``window-aggregate`` / ``session-window``: ``WindowAggregateSpec.to_dict()`` or
  ``{"spec": <that>, "late_sink"?: {"table": <TableDefinition JSON>}, "merge"?: bool,
  "input"?: [[name, type]]}``. SESSION runs in
  :class:`~flowsql.operators.session_window.SessionWindowOperator`. Late rows go to the
  late-data table's streaming sink writer (:mod:`flowsql.operators.side_output`); ``merge``
  makes the operator consume the partial states of ``local-window-aggregate``
  (:mod:`flowsql.operators.local_window_aggregate`). A window whose spec has ``proctime``
  runs wrapped in :class:`~flowsql.operators.proctime_window.ProcessingTimeWindow`.
- ``local-window-aggregate``: ``{"spec": ..., "input": [[name, type], ...]}``.
- ``group-aggregate``: ``GroupAggregateSpec.to_dict()`` or ``{"spec": <that>, "having": sql |
  null, "output": [[name, type], ...], "merge"?: bool, "input"?: [[name, type]],
  "state_ttl_ms"?: int}``; HAVING is compiled over the output columns (keys + aggregates) and
  handed to the operator as its visibility hook; ``merge`` makes the operator consume the
  partial states of ``local-group-aggregate`` (:mod:`flowsql.operators.local_group_aggregate`);
  ``state_ttl_ms`` (from a STATE_TTL hint) overrides ``table.exec.state.ttl`` for it.
- ``local-group-aggregate``: ``{"spec": ...}``.
- ``correlate``: see :mod:`flowsql.operators.correlate` (``LATERAL TABLE`` of a Python table
  function).
- ``python-group-aggregate``: the params of ``group-aggregate`` (no ``merge``) →
  :class:`~flowsql.operators.python_group_aggregate.PythonGroupAggregateOperator` (a GROUP
  BY calling Python aggregate functions); ``python-window-aggregate``: the params of
  ``window-aggregate`` (no ``merge``) →
  :class:`~flowsql.operators.python_window_aggregate.PythonWindowAggregateOperator`.
- ``union``: ``{}`` → :class:`~flowsql.operators.union.UnionOperator` (UNION ALL).
- ``join``: ``{"join_type": "INNER"|"LEFT"|"RIGHT"|"FULL", "left": [[name, type], ...],
  "right": [[name, type], ...], "left_keys": [name, ...], "right_keys": [name, ...],
  "output": [[name, type], ...], "residual": sql | null, "changelog": bool,
  "state_ttl_ms"?: [int | null, int | null]}`` → :class:`~flowsql.operators.join.JoinOperator`
  (input 0 = left, 1 = right); the residual is compiled over the output columns;
  ``state_ttl_ms`` (STATE_TTL hints, per side) overrides ``table.exec.state.ttl``.
- ``changelog-normalize``: ``{"keys": [name, ...], "input": [[name, type], ...]}`` →
  :class:`~flowsql.operators.changelog_normalize.ChangelogNormalizeOperator` (an upsert
  source's stream → +I/-U/+U/-D, keyed by the primary key).
- ``interval-join``: the ``join`` params (``changelog`` false, no ``state_ttl_ms``) plus
  ``"left_time"``, ``"right_time"`` (input columns), ``"lower_ms"``, ``"upper_ms"`` →
  :class:`~flowsql.operators.interval_join.IntervalJoinOperator`.
- ``temporal-join``: the ``join`` params (``join_type`` INNER or LEFT) plus ``"left_time"``
  (the probe's time attribute), ``"right_time"`` (the version time) and ``"latest_only"``
  (a versioned view's rows) →
  :class:`~flowsql.operators.temporal_join.TemporalJoinOperator` (input 0 = probe side).
- ``window-join``: the ``join`` params plus ``"left_window"``, ``"right_window"`` ([start,
  end] input columns) → :class:`~flowsql.operators.window_join.WindowJoinOperator`.
- ``lookup-join``: ``{"table": TableDefinition JSON, "join_type": "INNER"|"LEFT", "keys":
  [input column, ...], "lookup_keys": [table column, ...], "right": [[table column, output
  column], ...], "output": [[name, type], ...], "residual": sql | null}`` →
  :class:`~flowsql.operators.lookup_join.LookupJoinOperator`, its source from the table's
  connector (``create_lookup``, :mod:`connectors.lookup`).
- ``window-table``: ``{"window": WindowSpec.to_dict()}`` →
  :class:`~flowsql.operators.window_table.WindowTableOperator`.
- ``rank``, ``window-rank``, ``window-assign``: see :mod:`flowsql.operators.rank` and
  :mod:`flowsql.operators.window_rank` (Top-N, deduplication, their window forms);
  ``over-aggregate``: :mod:`flowsql.operators.over_aggregate`; ``over-aggregate-updating``
  (OVER over an updating input): :mod:`flowsql.operators.over_updating`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from catalog.table import TableDefinition
from connectors.base import physical_schema, source_schema
from connectors.registry import factory_for, get_factory
from flowsql.errors import PlanError
from flowsql.expr.compile import compile_expression
from flowsql.operators.base import Operator
from flowsql.operators.calc import CalcOperator, schema_from_columns
from flowsql.operators.changelog_normalize import ChangelogNormalizeOperator
from flowsql.operators.correlate import CorrelateOperator
from flowsql.operators.group_aggregate import GroupAggregateOperator
from flowsql.operators.interval_join import IntervalJoinOperator, IntervalJoinSpec
from flowsql.operators.join import JoinOperator, JoinSpec
from flowsql.operators.local_group_aggregate import (
    GlobalGroupAggregateOperator,
    LocalGroupAggregateOperator,
)
from flowsql.operators.local_window_aggregate import (
    GlobalWindowAggregateOperator,
    LocalWindowAggregateOperator,
)
from flowsql.operators.lookup_join import LookupJoinOperator, LookupJoinSpec
from flowsql.operators.over_aggregate import build_over_aggregate
from flowsql.operators.over_updating import build_updating_over
from flowsql.operators.proctime_window import ProcessingTimeWindow
from flowsql.operators.rank import build_rank
from flowsql.operators.session_window import SessionWindowOperator
from flowsql.operators.side_output import LateRowsWriter, WithSideOutput
from flowsql.operators.sink import BlackholeWriter, SinkOperator
from flowsql.operators.source import (
    DEFAULT_ALLOW_LATENCY_MS,
    DEFAULT_BATCH_SIZE,
    SourceOperator,
    ValuesReader,
    column_timestamps,
)
from flowsql.operators.specs import GroupAggregateSpec, WindowAggregateSpec, WindowSpec
from flowsql.operators.temporal_join import TemporalJoinOperator, TemporalJoinSpec
from flowsql.operators.union import UnionOperator
from flowsql.operators.window_aggregate import WindowAggregateOperator
from flowsql.operators.window_join import WindowJoinOperator, WindowJoinSpec
from flowsql.operators.window_rank import build_window_assign, build_window_rank
from flowsql.operators.window_table import WindowTableOperator
from flowsql.types import parse_type
from flowsql.udf.loader import add_python_files


@dataclass
class BuildEnv:
    operator_id: str
    subtask_index: int = 0
    parallelism: int = 1
    resources: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, str] = field(default_factory=dict)

    def resource(self, key: str) -> Any:
        if key not in self.resources:
            raise PlanError(
                f"operator {self.operator_id} needs job resource '{key}', which was not supplied"
            )
        return self.resources[key]


Builder = Callable[[dict[str, Any], BuildEnv], "Operator | SourceOperator"]


# -- helpers ---------------------------------------------------------------------------------
def _time_zone(env: BuildEnv) -> str:
    return str(env.config.get("table.local-time-zone") or "UTC")


def _columns(params: dict[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    return tuple((n, t) for n, t in params[key])


def _spec_dict(params: dict[str, Any]) -> dict[str, Any]:
    """Aggregation params are the spec's dict, or ``{"spec": <dict>, ...}`` (planner form)."""
    return params["spec"] if "spec" in params else params


def _input_schema(params: dict[str, Any]) -> pa.Schema:
    return schema_from_columns(_columns(params, "input"))[0]


# -- connector lookup --------------------------------------------------------------------------
def _table_and_factory(params: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """The table, its connector factory (``params["connector"]`` overrides the table's
    option) and its validated options."""
    table = TableDefinition.from_json(params["table"])
    factory = get_factory(params["connector"]) if params.get("connector") else factory_for(table)
    return table, factory, factory.validate(table)


def _timestamps(wm: dict[str, Any], params: dict[str, Any], env: BuildEnv, schema: Any) -> Any:
    """The event-time extractor of a watermark spec: ``{"expression": SQL over the physical
    columns}`` (compiled with flowsql.expr against ``schema``, with the table's declared Flink
    types when ``params`` has the table), or ``{"column": path}`` / ``{"columns": [...]}``."""
    if not wm.get("expression"):
        return column_timestamps(wm.get("columns") or [wm["column"]])
    types = None
    if params.get("table"):
        table = TableDefinition.from_json(params["table"])
        types = {c.name: parse_type(c.data_type or "STRING") for c in table.columns
                 if c.kind in ("physical", "metadata")}
    compiled = compile_expression(
        wm["expression"],
        schema,
        flink_types=types,
        session_time_zone=_time_zone(env),
    )
    return compiled.evaluate


def _source_operator(
    reader: Any, params: dict[str, Any], env: BuildEnv, schema: Any
) -> SourceOperator:
    wm = params.get("watermark") or None
    latency = params.get("allow_latency_ms")
    return SourceOperator(
        reader,
        timestamps=_timestamps(wm, params, env, schema) if wm else None,
        delay_ms=int(wm.get("delay_ms", 0)) if wm else 0,
        batch_size=int(params.get("batch_size") or DEFAULT_BATCH_SIZE),
        allow_latency_ms=int(DEFAULT_ALLOW_LATENCY_MS if latency is None else latency),
        idle_timeout_ms=int(params.get("idle_timeout_ms") or 0),
        # a configured mini-batch size also bounds every batch (and so the lateness granularity)
        max_batch_rows=int(params["batch_size"]) if params.get("batch_size") else None,
    )


def _late_writer(params: dict[str, Any]) -> LateRowsWriter | None:
    late = params.get("late_sink")
    if not late:
        return None
    table = TableDefinition.from_json(late["table"])
    factory = factory_for(table)
    return LateRowsWriter(factory.sink_writer(table, factory.validate(table)), physical_schema(table))


# -- builders: sources and sinks ---------------------------------------------------------------
def _build_connector_source(params: dict[str, Any], env: BuildEnv) -> SourceOperator:
    table, factory, options = _table_and_factory(params)
    schema = source_schema(table, factory)
    project = params.get("project")
    if project:  # only these columns (the planner asks only a can_project factory)
        reader = factory.source_reader(table, options, parallelism=env.parallelism,
                                       project=list(project))
        schema = pa.schema([schema.field(name) for name in project])
    else:
        reader = factory.source_reader(table, options, parallelism=env.parallelism)
    return _source_operator(reader, params, env, schema)


def _build_values_source(params: dict[str, Any], env: BuildEnv) -> SourceOperator:
    reader = ValuesReader.from_params(params)
    return _source_operator(reader, params, env, reader.table.schema)


def _build_collect_sink(params: dict[str, Any], env: BuildEnv) -> Operator:
    result = env.resource(params["result"])
    result.bind(env.parallelism)
    return SinkOperator(result.writer())


def _build_blackhole_sink(params: dict[str, Any], env: BuildEnv) -> Operator:
    return SinkOperator(BlackholeWriter())


def _build_connector_sink(params: dict[str, Any], env: BuildEnv) -> Operator:
    table, factory, options = _table_and_factory(params)
    return SinkOperator(factory.sink_writer(table, options))


# -- builders: transformations -----------------------------------------------------------------
def _build_calc(params: dict[str, Any], env: BuildEnv) -> Operator:
    return CalcOperator(
        [(n, e) for n, e in params["projections"]],
        params.get("filter"),
        _columns(params, "input"),
        session_time_zone=_time_zone(env),
    )


def _build_union(params: dict[str, Any], env: BuildEnv) -> Operator:
    return UnionOperator()


def _build_window_aggregate(params: dict[str, Any], env: BuildEnv) -> Operator:
    spec = WindowAggregateSpec.from_dict(_spec_dict(params))
    # a processing-time window has no late rows (flowsql.operators.proctime_window)
    late = None if spec.window.proctime else _late_writer(params)
    op: Operator
    if any(a.function == "PYTHON_UDAF" for a in spec.aggs):
        from flowsql.operators.python_window_aggregate import PythonWindowAggregateOperator

        op = PythonWindowAggregateOperator(spec, late_out=late)
    elif spec.window.kind == "SESSION":
        op = SessionWindowOperator(spec, late_out=late)
    elif params.get("merge"):
        op = GlobalWindowAggregateOperator(spec, _input_schema(params), late_out=late)
    else:
        op = WindowAggregateOperator(spec, late_out=late)
    if spec.window.proctime:
        return ProcessingTimeWindow(op, spec.window)
    return WithSideOutput(op, late) if late is not None else op


def _build_local_window_aggregate(params: dict[str, Any], env: BuildEnv) -> Operator:
    spec = WindowAggregateSpec.from_dict(_spec_dict(params))
    return LocalWindowAggregateOperator(spec, _input_schema(params))


def _build_group_aggregate(params: dict[str, Any], env: BuildEnv) -> Operator:
    having = None
    if params.get("having"):
        schema, types = schema_from_columns(_columns(params, "output"))
        compiled = compile_expression(params["having"], schema, flink_types=types,
                                      session_time_zone=_time_zone(env))

        def having(table: pa.Table) -> pa.Array:
            batch = pa.RecordBatch.from_arrays(
                [table.column(f.name).combine_chunks() for f in schema], schema=schema
            ) if table.num_rows else schema.empty_table().to_batches() or None
            if batch is None or isinstance(batch, list):
                return pa.array([], pa.bool_())
            return compiled.evaluate(batch)

    spec = GroupAggregateSpec.from_dict(_spec_dict(params))
    ttl = params.get("state_ttl_ms")
    if any(a.function == "PYTHON_UDAF" for a in spec.aggs):
        from flowsql.operators.python_group_aggregate import PythonGroupAggregateOperator

        return PythonGroupAggregateOperator(spec, having=having)
    if params.get("merge"):
        return GlobalGroupAggregateOperator(spec, _input_schema(params), having=having,
                                            state_ttl_ms=ttl)
    return GroupAggregateOperator(spec, having=having, state_ttl_ms=ttl)


def _build_local_group_aggregate(params: dict[str, Any], env: BuildEnv) -> Operator:
    return LocalGroupAggregateOperator(GroupAggregateSpec.from_dict(_spec_dict(params)))


def _join_schemas(params: dict[str, Any], env: BuildEnv) -> tuple[pa.Schema, pa.Schema, pa.Schema, Any]:
    """(left, right, output schema, compiled residual or None) of a join's params."""
    left = schema_from_columns(_columns(params, "left"))[0]
    right = schema_from_columns(_columns(params, "right"))[0]
    output, types = schema_from_columns(_columns(params, "output"))
    residual = None
    if params.get("residual"):
        residual = compile_expression(params["residual"], output, flink_types=types,
                                      session_time_zone=_time_zone(env)).evaluate
    return left, right, output, residual


def _build_interval_join(params: dict[str, Any], env: BuildEnv) -> Operator:
    left, right, output, residual = _join_schemas(params, env)
    spec = IntervalJoinSpec(params["join_type"], tuple(params["left_keys"]),
                            tuple(params["right_keys"]), params["left_time"], params["right_time"],
                            int(params["lower_ms"]), int(params["upper_ms"]))
    return IntervalJoinOperator(spec, left, right, output, residual=residual)


def _build_temporal_join(params: dict[str, Any], env: BuildEnv) -> Operator:
    left, right, output, residual = _join_schemas(params, env)
    spec = TemporalJoinSpec(params["join_type"], tuple(params["left_keys"]),
                            tuple(params["right_keys"]), params["left_time"], params["right_time"],
                            bool(params.get("latest_only", False)))
    return TemporalJoinOperator(spec, left, right, output, residual=residual)


def _build_window_join(params: dict[str, Any], env: BuildEnv) -> Operator:
    left, right, output, residual = _join_schemas(params, env)
    spec = WindowJoinSpec(params["join_type"], tuple(params["left_keys"]),
                          tuple(params["right_keys"]), tuple(params["left_window"]),  # type: ignore[arg-type]
                          tuple(params["right_window"]))  # type: ignore[arg-type]
    return WindowJoinOperator(spec, left, right, output, residual=residual)


def _build_window_table(params: dict[str, Any], env: BuildEnv) -> Operator:
    return WindowTableOperator(WindowSpec.from_dict(params["window"]))


def _build_lookup_join(params: dict[str, Any], env: BuildEnv) -> Operator:
    table, factory, options = _table_and_factory(params)
    lookup_keys = tuple(params["lookup_keys"])
    output, types = schema_from_columns(_columns(params, "output"))
    residual = None
    if params.get("residual"):
        residual = compile_expression(params["residual"], output, flink_types=types,
                                      session_time_zone=_time_zone(env)).evaluate
    spec = LookupJoinSpec(params["join_type"], tuple(params["keys"]), lookup_keys,
                          tuple((c, o) for c, o in params["right"]))
    return LookupJoinOperator(spec, lambda: factory.create_lookup(table, options, lookup_keys),
                              output, residual=residual)


def _build_join(params: dict[str, Any], env: BuildEnv) -> Operator:
    left, right, output, residual = _join_schemas(params, env)
    spec = JoinSpec(params["join_type"], tuple(params["left_keys"]), tuple(params["right_keys"]),
                    bool(params.get("changelog", True)))
    ttl = params.get("state_ttl_ms") or [None, None]
    return JoinOperator(spec, left, right, output, residual=residual,
                        state_ttl_ms=(ttl[0], ttl[1]))


def _build_changelog_normalize(params: dict[str, Any], env: BuildEnv) -> Operator:
    return ChangelogNormalizeOperator(list(params["keys"]), _input_schema(params))


OPERATORS: dict[str, Builder] = {
    "source": _build_connector_source,
    "values-source": _build_values_source,
    "collect-sink": _build_collect_sink,
    "blackhole-sink": _build_blackhole_sink,
    "sink": _build_connector_sink,
    "calc": _build_calc,
    "union": _build_union,
    "join": _build_join,
    "interval-join": _build_interval_join,
    "lookup-join": _build_lookup_join,
    "temporal-join": _build_temporal_join,
    "window-join": _build_window_join,
    "window-table": _build_window_table,
    "window-aggregate": _build_window_aggregate,
    "session-window": _build_window_aggregate,
    "local-window-aggregate": _build_local_window_aggregate,
    "group-aggregate": _build_group_aggregate,
    "local-group-aggregate": _build_local_group_aggregate,
    "changelog-normalize": _build_changelog_normalize,
    "python-group-aggregate": _build_group_aggregate,
    "python-window-aggregate": _build_window_aggregate,
    "correlate": lambda params, env: CorrelateOperator(params),
    "rank": build_rank,
    "window-assign": build_window_assign,
    "window-rank": build_window_rank,
    "over-aggregate": build_over_aggregate,
    "over-aggregate-updating": build_updating_over,
}


class OperatorRegistry:
    def __init__(self, builders: Mapping[str, Builder] | None = None) -> None:
        self._builders: dict[str, Builder] = dict(OPERATORS if builders is None else builders)

    def kinds(self) -> list[str]:
        return sorted(self._builders)

    def with_builders(self, extra: Mapping[str, Builder]) -> OperatorRegistry:
        return OperatorRegistry({**self._builders, **extra})

    def build(self, kind: str, params: dict[str, Any], env: BuildEnv) -> Operator | SourceOperator:
        builder = self._builders.get(kind)
        if builder is None:
            raise PlanError(
                f"unknown operator kind '{kind}' (operator {env.operator_id})",
                hint="known kinds: " + ", ".join(self.kinds()),
            )
        if env.config.get("python.files"):  # Python UDF modules, in any process (flowsql.udf)
            add_python_files(str(env.config["python.files"]))
        return builder(params, env)


def default_registry() -> OperatorRegistry:
    return OperatorRegistry()
