"""Watermark assigner: computed columns + a table's ``WATERMARK FOR rowtime AS <expr>``.

Contract (what the runtime wires):
- :class:`WatermarkAssignerSpec` is the frozen, JSON-able plan: input columns as (name,
  Flink type text), the rowtime column, the watermark expression SQL (e.g.
  ``date_time - INTERVAL '4' SECOND``), the table's computed columns as (name, SQL) pairs in
  declaration order, and the session time zone.
- ``open()`` compiles the computed columns (each may use the physical columns and the
  computed columns declared before it) and the watermark expression, which must be of type
  TIMESTAMP(3) or TIMESTAMP_LTZ(3); the rowtime column must be such a timestamp too.
- ``process_batch(batch, out)``:
  1. appends the computed columns (after the input columns, in declaration order);
  2. emits the widened batch to ``out`` unchanged otherwise (no row is dropped here; late
     rows are the business of the downstream window/aggregate operators);
  3. evaluates the watermark expression over the batch (vectorized) and raises
     :meth:`current_watermark` to ``max(expression values seen so far) - 1`` ms — Flink's
     bounded-out-of-orderness rule ``max(ts) - delay - 1``, the delay being part of the
     expression. NULL values are ignored. The watermark never decreases.
- After each ``process_batch`` the runtime calls :meth:`poll_watermark`, which returns a
  ``Watermark`` when the watermark advanced since the previous poll (else None), and forwards
  it downstream after the data. ``current_watermark()`` is ``MIN_WATERMARK`` until a row was
  seen.
- ``on_watermark(wm)`` from upstream: like Flink's assigner, only the end-of-input watermark
  (``MAX_WATERMARK``) is forwarded; other upstream watermarks are swallowed (return None).
- ``snapshot`` stores the current watermark; ``restore`` resumes from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import ExecutionError, ValidationError
from flowsql.expr.compile import CompiledExpr, compile_expression
from flowsql.operators.base import Collector, Operator, OperatorContext
from flowsql.operators.calc import Columns, columns_from_schema, schema_from_columns
from flowsql.runtime.messages import MAX_WATERMARK, MIN_WATERMARK, Watermark
from flowsql.types import FlinkType


@dataclass(frozen=True)
class WatermarkAssignerSpec:
    input_columns: Columns
    rowtime: str
    watermark_expr: str
    computed_columns: Columns = ()
    session_time_zone: str = "UTC"

    def to_json(self) -> str:
        return json.dumps({
            "input_columns": [list(c) for c in self.input_columns],
            "rowtime": self.rowtime,
            "watermark_expr": self.watermark_expr,
            "computed_columns": [list(c) for c in self.computed_columns],
            "session_time_zone": self.session_time_zone,
        })

    @classmethod
    def from_json(cls, text: str) -> WatermarkAssignerSpec:
        d = json.loads(text)
        return cls(
            input_columns=tuple((n, t) for n, t in d["input_columns"]),
            rowtime=d["rowtime"],
            watermark_expr=d["watermark_expr"],
            computed_columns=tuple((n, e) for n, e in d.get("computed_columns", [])),
            session_time_zone=d.get("session_time_zone", "UTC"),
        )

    def build(self) -> WatermarkAssignerOperator:
        return WatermarkAssignerOperator(
            self.rowtime, self.watermark_expr, self.input_columns,
            computed_columns=self.computed_columns, session_time_zone=self.session_time_zone,
        )


def _is_event_time(t: FlinkType) -> bool:
    return t.root in ("TIMESTAMP", "TIMESTAMP_LTZ") and (t.precision or 0) <= 3


class WatermarkAssignerOperator(Operator):
    """Adds computed columns and tracks the bounded-out-of-orderness watermark."""

    def __init__(
        self,
        rowtime: str,
        watermark_expr: str,
        input_schema: pa.Schema | Columns,
        *,
        computed_columns: Columns | list[tuple[str, str]] = (),
        session_time_zone: str = "UTC",
    ) -> None:
        if isinstance(input_schema, pa.Schema):
            self.input_schema = input_schema
            self.flink_types: dict[str, FlinkType] = {}
        else:
            self.input_schema, self.flink_types = schema_from_columns(tuple(input_schema))
        self.rowtime = rowtime
        self.watermark_expr = watermark_expr
        self.computed_columns = tuple((n, e) for n, e in computed_columns)
        self.session_time_zone = session_time_zone
        self._computed: list[tuple[str, CompiledExpr]] | None = None
        self._watermark_fn: CompiledExpr | None = None
        self._output_schema: pa.Schema | None = None
        self._max_ts: int | None = None
        self._current = MIN_WATERMARK
        self._last_polled = MIN_WATERMARK

    def spec(self) -> WatermarkAssignerSpec:
        return WatermarkAssignerSpec(columns_from_schema(self.input_schema), self.rowtime,
                                     self.watermark_expr, self.computed_columns,
                                     self.session_time_zone)

    # -- compile -------------------------------------------------------------------------

    def compile(self) -> None:
        if self._computed is not None:
            return
        schema = self.input_schema
        types = dict(self.flink_types)
        computed: list[tuple[str, CompiledExpr]] = []
        for name, text in self.computed_columns:
            if name in schema.names:
                raise ValidationError(f"computed column '{name}' duplicates an existing column")
            c = compile_expression(text, schema, flink_types=types,
                                   session_time_zone=self.session_time_zone)
            computed.append((name, c))
            schema = schema.append(pa.field(name, c.type))
            types[name] = c.flink_type
        if self.rowtime not in schema.names:
            from flowsql.expr.compile import unknown_column

            raise unknown_column(self.rowtime, schema.names)
        rowtime_type = types.get(self.rowtime)
        if rowtime_type is None:
            from flowsql.types import from_arrow

            rowtime_type = from_arrow(schema.field(self.rowtime).type)
        if not _is_event_time(rowtime_type):
            raise ValidationError(
                f"rowtime column '{self.rowtime}' must be TIMESTAMP(3) or TIMESTAMP_LTZ(3), "
                f"got {rowtime_type}"
            )
        wm = compile_expression(self.watermark_expr, schema, flink_types=types,
                                session_time_zone=self.session_time_zone)
        if not _is_event_time(wm.flink_type):
            raise ValidationError(
                f"watermark expression '{self.watermark_expr}' must be TIMESTAMP(3) or "
                f"TIMESTAMP_LTZ(3), got {wm.flink_type}"
            )
        self._computed = computed
        self._watermark_fn = wm
        self._output_schema = schema

    @property
    def output_schema(self) -> pa.Schema:
        self.compile()
        assert self._output_schema is not None
        return self._output_schema

    # -- operator ------------------------------------------------------------------------

    def open(self, ctx: OperatorContext) -> None:
        super().open(ctx)
        self.compile()

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        self.compile()
        assert self._computed is not None and self._watermark_fn is not None
        ctx = getattr(self, "ctx", None)
        try:
            # 1. computed columns
            for name, c in self._computed:
                batch = batch.append_column(pa.field(name, c.type), c.evaluate(batch))
            # 3 (computed before emitting so a failing expression emits nothing)
            values = self._watermark_fn.evaluate(batch)
        except ExecutionError as exc:
            if ctx is not None and exc.operator_id is None:
                exc.operator_id = ctx.operator_id
            raise
        if ctx is not None:
            ctx.metrics.records_in += batch.num_rows
            ctx.metrics.records_out += batch.num_rows
        # 2. emit the data
        out.emit(batch)
        # 3. advance the watermark
        if batch.num_rows:
            top = pc.max(values)  # timestamp[ms] (precision checked at compile time)
            if top.is_valid:
                ts = int(top.cast(pa.int64()).as_py())
                if self._max_ts is None or ts > self._max_ts:
                    self._max_ts = ts
                    self._current = max(self._current, ts - 1)

    def current_watermark(self) -> int:
        """Epoch ms: max watermark-expression value seen so far minus 1 (MIN_WATERMARK if none)."""
        return self._current

    def poll_watermark(self) -> Watermark | None:
        """A Watermark when it advanced since the last poll, else None."""
        if self._current > self._last_polled:
            self._last_polled = self._current
            return Watermark(self._current)
        return None

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        if wm.timestamp >= MAX_WATERMARK:
            self._current = MAX_WATERMARK
            self._last_polled = MAX_WATERMARK
            return wm
        return None

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        return {"watermark": pa.table({"current": pa.array([self._current], pa.int64()),
                                       "last_polled": pa.array([self._last_polled], pa.int64())})}

    def restore(self, state: dict[str, pa.Table]) -> None:
        table = state.get("watermark")
        if table is not None and table.num_rows:
            self._current = int(table.column("current")[0].as_py())
            self._last_polled = int(table.column("last_polled")[0].as_py())
            self._max_ts = self._current + 1 if self._current > MIN_WATERMARK else None
