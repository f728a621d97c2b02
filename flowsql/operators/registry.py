"""Operator registry: the one table from a spec's ``kind`` to the code that builds it.

Contract (architecture §3.3, Arroyo's constructor table):
- The physical plan says *what* (``OperatorSpec.kind`` + JSON ``params``); this registry says
  *how*: ``OPERATORS[kind](params, env)`` returns a live :class:`~flowsql.operators.base.Operator`
  or, for source kinds, a :class:`~flowsql.operators.source.SourceOperator`. The TaskManager
  builds one object per subtask, so builders must not share mutable state between calls.
- The table is an explicit dict (no self-registration); builders import their module lazily so
  the registry costs nothing to import and never cycles. Tests and plugins extend a copy with
  :meth:`OperatorRegistry.with_builders`.
- :class:`BuildEnv` carries the operator id, subtask index, parallelism, session config and
  the job's in-process *resources* (objects that cannot travel as JSON, e.g. the
  :class:`~flowsql.operators.sink.CollectResult` a client reads): params name a resource by key.

Built-in kinds and their params:
- ``source``: ``{"table": <TableDefinition JSON>, "connector"?: str, "watermark"?: {"expression":
  <event-time SQL over the physical columns> | "column": path | "columns": [path, ...],
  "delay_ms": int}, "batch_size"?: int, "allow_latency_ms"?: int, "idle_timeout_ms"?: int}``
  - a connector's streaming reader (``ConnectorFactory.source_reader``). A given
  ``batch_size`` (a configured mini-batch size) is also the source's ``max_batch_rows``.
- ``values-source``: ``{"schema": [[name, flink type], ...], "rows": [[...], ...],
  "batch_rows"?: int, "watermark"?: ...}`` - literal rows (VALUES, tests).
- ``collect-sink``: ``{"result": <resource key>}``; ``blackhole-sink``: ``{}``;
  ``sink``: ``{"table": <TableDefinition JSON>, "connector"?: str}`` (``ConnectorFactory.sink_writer``).
- ``window-aggregate`` / ``session-window``: ``WindowAggregateSpec.to_dict()`` or
  ``{"spec": <that>}`` (SESSION runs in ``SessionWindowOperator``); ``group-aggregate``:
  ``GroupAggregateSpec.to_dict()`` or ``{"spec": <that>}``; ``union``: ``{}`` (UNION ALL).
- ``calc``, ``local-window-aggregate``, and the planner's forms of the aggregation kinds
  (late-data sink, two-phase merge, HAVING): see :mod:`flowsql.operators.planner_kinds`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flowsql.errors import NotSupportedError, PlanError
from flowsql.operators.base import Operator

if TYPE_CHECKING:
    from flowsql.operators.source import SourceOperator


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


# -- connector lookup --------------------------------------------------------------------------
def _table_and_factory(params: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """The table, its connector factory (``params["connector"]`` overrides the table's
    option) and its validated options."""
    from catalog.table import TableDefinition
    from connectors.registry import factory_for, get_factory

    table = TableDefinition.from_json(params["table"])
    factory = get_factory(params["connector"]) if params.get("connector") else factory_for(table)
    return table, factory, factory.validate(table)


def _timestamps(wm: dict[str, Any], params: dict[str, Any], env: BuildEnv, schema: Any) -> Any:
    """The event-time extractor of a watermark spec: ``{"expression": SQL over the physical
    columns}`` (compiled with flowsql.expr against ``schema``, with the table's declared Flink
    types when ``params`` has the table), or ``{"column": path}`` / ``{"columns": [...]}``."""
    from flowsql.operators.source import column_timestamps

    if not wm.get("expression"):
        return column_timestamps(wm.get("columns") or [wm["column"]])
    from flowsql.expr.compile import compile_expression
    from flowsql.types import parse_type

    types = None
    if params.get("table"):
        from catalog.table import TableDefinition

        table = TableDefinition.from_json(params["table"])
        types = {c.name: parse_type(c.data_type or "STRING") for c in table.physical_columns}
    compiled = compile_expression(
        wm["expression"],
        schema,
        flink_types=types,
        session_time_zone=str(env.config.get("table.local-time-zone") or "UTC"),
    )
    return compiled.evaluate


def _source_operator(
    reader: Any, params: dict[str, Any], env: BuildEnv, schema: Any
) -> SourceOperator:
    from flowsql.operators.source import (
        DEFAULT_ALLOW_LATENCY_MS,
        DEFAULT_BATCH_SIZE,
        SourceOperator,
    )

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


# -- builders ----------------------------------------------------------------------------------
def _build_connector_source(params: dict[str, Any], env: BuildEnv) -> SourceOperator:
    from connectors.base import physical_schema

    table, factory, options = _table_and_factory(params)
    reader = factory.source_reader(table, options, parallelism=env.parallelism)
    return _source_operator(reader, params, env, physical_schema(table))


def _build_values_source(params: dict[str, Any], env: BuildEnv) -> SourceOperator:
    from flowsql.operators.source import ValuesReader

    reader = ValuesReader.from_params(params)
    return _source_operator(reader, params, env, reader.table.schema)


def _build_collect_sink(params: dict[str, Any], env: BuildEnv) -> Operator:
    from flowsql.operators.sink import SinkOperator

    result = env.resource(params["result"])
    result.bind(env.parallelism)
    return SinkOperator(result.writer())


def _build_blackhole_sink(params: dict[str, Any], env: BuildEnv) -> Operator:
    from flowsql.operators.sink import BlackholeWriter, SinkOperator

    return SinkOperator(BlackholeWriter())


def _build_connector_sink(params: dict[str, Any], env: BuildEnv) -> Operator:
    from flowsql.operators.sink import SinkOperator

    table, factory, options = _table_and_factory(params)
    return SinkOperator(factory.sink_writer(table, options))


def _spec_dict(params: dict[str, Any]) -> dict[str, Any]:
    """Aggregation params are the spec's dict, or ``{"spec": <dict>, ...}`` (planner form)."""
    return params["spec"] if "spec" in params else params


def _build_window_aggregate(params: dict[str, Any], env: BuildEnv) -> Operator:
    from flowsql.operators.specs import WindowAggregateSpec

    if params.get("merge") or params.get("late_sink"):
        raise NotSupportedError("two-phase window aggregation and late-data sinks in the runtime")
    spec = WindowAggregateSpec.from_dict(_spec_dict(params))
    if spec.window.kind == "SESSION":
        from flowsql.operators.session_window import SessionWindowOperator

        return SessionWindowOperator(spec)
    from flowsql.operators.window_aggregate import WindowAggregateOperator

    return WindowAggregateOperator(spec)


def _build_group_aggregate(params: dict[str, Any], env: BuildEnv) -> Operator:
    from flowsql.operators.group_aggregate import GroupAggregateOperator
    from flowsql.operators.specs import GroupAggregateSpec

    if params.get("having"):
        raise NotSupportedError("HAVING in the streaming runtime (plan it as a calc)")
    return GroupAggregateOperator(GroupAggregateSpec.from_dict(_spec_dict(params)))


class _Union(Operator):
    """UNION ALL: every input batch passes through unchanged (the task already combines the
    inputs' watermarks); too small for a module of its own."""

    def process_batch(self, batch: Any, out: Any, input_index: int = 0) -> None:
        out.emit(batch)


def _build_union(params: dict[str, Any], env: BuildEnv) -> Operator:
    return _Union()


def _planner_kind(name: str) -> Builder:
    """A builder of :mod:`flowsql.operators.planner_kinds` (imported on first use)."""

    def build(params: dict[str, Any], env: BuildEnv) -> Operator | SourceOperator:
        from flowsql.operators import planner_kinds

        return getattr(planner_kinds, name)(params, env)

    return build


OPERATORS: dict[str, Builder] = {
    "source": _build_connector_source,
    "values-source": _build_values_source,
    "collect-sink": _build_collect_sink,
    "blackhole-sink": _build_blackhole_sink,
    "sink": _build_connector_sink,
    "window-aggregate": _build_window_aggregate,
    "session-window": _build_window_aggregate,
    "group-aggregate": _build_group_aggregate,
    "union": _build_union,
}
# The streaming planner's kinds and forms (calc, late-data side outputs, two-phase, HAVING);
# they accept every params form of the builders above, so they take their place.
OPERATORS.update({
    "calc": _planner_kind("build_calc"),
    "window-aggregate": _planner_kind("build_window_aggregate"),
    "session-window": _planner_kind("build_window_aggregate"),
    "local-window-aggregate": _planner_kind("build_local_window_aggregate"),
    "group-aggregate": _planner_kind("build_group_aggregate"),
})


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
        return builder(params, env)


def default_registry() -> OperatorRegistry:
    return OperatorRegistry()
