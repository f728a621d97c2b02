"""Builders for the operator kinds the streaming planner emits (registered in
:data:`flowsql.operators.registry.OPERATORS`).

Params per kind (all plain JSON, produced by :mod:`flowsql.physical.translate`):
- ``calc``: ``{"input": [[name, flink type], ...], "projections": [[name, sql], ...],
  "filter": sql | null}`` → :class:`~flowsql.operators.calc.CalcOperator`.
- ``window-aggregate`` / ``session-window``: ``{"spec": WindowAggregateSpec dict,
  "late_sink"?: {"table": <TableDefinition JSON>}, "merge"?: bool, "input"?: [[name, type]]}``.
  Late rows go to the late-data table's streaming sink writer
  (:mod:`flowsql.operators.side_output`); ``merge`` makes the operator consume the partial
  states of ``local-window-aggregate`` (:mod:`flowsql.operators.local_window_aggregate`).
- ``local-window-aggregate``: ``{"spec": ..., "input": [[name, type], ...]}``.
- ``group-aggregate``: ``{"spec": GroupAggregateSpec dict, "having": sql | null, "output":
  [[name, type], ...]}``; HAVING is compiled over the output columns (keys + aggregates) and
  handed to the operator as its visibility hook.
- ``union``: ``{}`` → :class:`~flowsql.operators.union.UnionOperator`.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from flowsql.operators.base import Operator


def _time_zone(env: Any) -> str:
    return str(env.config.get("table.local-time-zone") or "UTC")


def _columns(params: dict[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    return tuple((n, t) for n, t in params[key])


def _spec_dict(params: dict[str, Any]) -> dict[str, Any]:
    return params["spec"] if "spec" in params else params


def build_calc(params: dict[str, Any], env: Any) -> Operator:
    from flowsql.operators.calc import CalcOperator

    return CalcOperator(
        [(n, e) for n, e in params["projections"]],
        params.get("filter"),
        _columns(params, "input"),
        session_time_zone=_time_zone(env),
    )


def build_union(params: dict[str, Any], env: Any) -> Operator:
    from flowsql.operators.union import UnionOperator

    return UnionOperator()


def _late_writer(params: dict[str, Any]) -> Any:
    late = params.get("late_sink")
    if not late:
        return None
    from catalog.table import TableDefinition
    from connectors.base import physical_schema
    from connectors.registry import factory_for
    from flowsql.operators.side_output import LateRowsWriter

    table = TableDefinition.from_json(late["table"])
    factory = factory_for(table)
    return LateRowsWriter(factory.sink_writer(table, factory.validate(table)), physical_schema(table))


def _input_schema(params: dict[str, Any]) -> pa.Schema:
    from flowsql.operators.calc import schema_from_columns

    return schema_from_columns(_columns(params, "input"))[0]


def build_window_aggregate(params: dict[str, Any], env: Any) -> Operator:
    from flowsql.operators.side_output import WithSideOutput
    from flowsql.operators.specs import WindowAggregateSpec

    spec = WindowAggregateSpec.from_dict(_spec_dict(params))
    late = _late_writer(params)
    op: Operator
    if spec.window.kind == "SESSION":
        from flowsql.operators.session_window import SessionWindowOperator

        op = SessionWindowOperator(spec, late_out=late)
    elif params.get("merge"):
        from flowsql.operators.local_window_aggregate import GlobalWindowAggregateOperator

        op = GlobalWindowAggregateOperator(spec, _input_schema(params), late_out=late)
    else:
        from flowsql.operators.window_aggregate import WindowAggregateOperator

        op = WindowAggregateOperator(spec, late_out=late)
    return WithSideOutput(op, late) if late is not None else op


def build_local_window_aggregate(params: dict[str, Any], env: Any) -> Operator:
    from flowsql.operators.local_window_aggregate import LocalWindowAggregateOperator
    from flowsql.operators.specs import WindowAggregateSpec

    spec = WindowAggregateSpec.from_dict(_spec_dict(params))
    return LocalWindowAggregateOperator(spec, _input_schema(params))


def build_group_aggregate(params: dict[str, Any], env: Any) -> Operator:
    from flowsql.operators.group_aggregate import GroupAggregateOperator
    from flowsql.operators.specs import GroupAggregateSpec

    having = None
    if params.get("having"):
        from flowsql.expr.compile import compile_expression
        from flowsql.operators.calc import schema_from_columns

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

    return GroupAggregateOperator(GroupAggregateSpec.from_dict(_spec_dict(params)), having=having)
