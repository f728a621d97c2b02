"""Calc: the stateless filter + projection operator (Flink's ``StreamExecCalc``).

Contract:
- :class:`CalcSpec` is the frozen, JSON-able plan: the input schema as (name, Flink type
  text) pairs, the projections as (output name, Flink SQL expression text) pairs, an
  optional condition (SQL text) and the session time zone. ``CalcSpec.from_json(s.to_json())
  == s``. ``output_schema()`` compiles the expressions to report the result schema (and so
  validates the spec at plan time: unknown columns and type errors raise ValidationError).
- :class:`CalcOperator` compiles everything once in ``open()``. ``process_batch``:
  1. evaluates the condition and keeps rows where it is TRUE (NULL and FALSE are dropped);
  2. evaluates each projection on the kept rows (a bare column is passed through zero-copy);
  3. appends the input's row-kind column (:data:`ROW_KIND`) unchanged when present and not
     projected explicitly, so changelog streams keep their +I/-U/+U/-D codes;
  4. emits one batch (nothing when no row is kept).
  A sub-expression repeated in the condition and/or the projections (same canonical SQL) is
  evaluated once per batch (:class:`flowsql.expr.compile.Cse`); values the condition
  computed are filtered along with the batch for the projections. The memo is cleared after
  each batch.
- Evaluation errors surface as ``ExecutionError`` carrying this operator's id.
- Calc holds no state: ``snapshot`` is empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import ExecutionError, ValidationError
from flowsql.expr.compile import (
    CompiledExpr,
    Cse,
    compile_expression,
    cse_key,
    parse_expression,
    split_key,
)
from flowsql.messages import ROW_KIND
from flowsql.operators.base import Collector, Operator, OperatorContext
from flowsql.types import FlinkType, parse_type, to_arrow

Columns = tuple[tuple[str, str], ...]


def schema_from_columns(columns: Columns) -> tuple[pa.Schema, dict[str, FlinkType]]:
    """Arrow schema and declared Flink types for (name, Flink type text) pairs."""
    fields: list[pa.Field] = []
    types: dict[str, FlinkType] = {}
    for name, text in columns:
        if name == ROW_KIND:
            fields.append(pa.field(ROW_KIND, pa.int8(), nullable=False))
            continue
        t = parse_type(text)
        types[name] = t
        fields.append(pa.field(name, to_arrow(t), nullable=t.nullable))
    return pa.schema(fields), types


def columns_from_schema(schema: pa.Schema) -> Columns:
    """(name, Flink type text) pairs for an Arrow schema."""
    from flowsql.types import from_arrow

    return tuple(
        (f.name, "TINYINT NOT NULL" if f.name == ROW_KIND else str(from_arrow(f.type, f.nullable)))
        for f in schema
    )


@dataclass(frozen=True)
class CalcSpec:
    input_columns: Columns
    projections: Columns  # (output name, expression SQL)
    condition: str | None = None
    session_time_zone: str = "UTC"

    def to_json(self) -> str:
        return json.dumps({
            "input_columns": [list(c) for c in self.input_columns],
            "projections": [list(p) for p in self.projections],
            "condition": self.condition,
            "session_time_zone": self.session_time_zone,
        })

    @classmethod
    def from_json(cls, text: str) -> CalcSpec:
        data = json.loads(text)
        return cls(
            input_columns=tuple((n, t) for n, t in data["input_columns"]),
            projections=tuple((n, e) for n, e in data["projections"]),
            condition=data.get("condition"),
            session_time_zone=data.get("session_time_zone", "UTC"),
        )

    def output_schema(self) -> pa.Schema:
        return CalcOperator.from_spec(self).compile().output_schema

    def build(self) -> CalcOperator:
        return CalcOperator.from_spec(self)


@dataclass
class _Compiled:
    condition: CompiledExpr | None
    projections: list[tuple[str, CompiledExpr]]
    output_schema: pa.Schema
    pass_row_kind: bool
    cse: Cse | None = None
    carried: frozenset[str] = frozenset()  # memo keys the projections use


class CalcOperator(Operator):
    """Filter then project; see the module contract."""

    def __init__(
        self,
        projections: list[tuple[str, str]] | Columns,
        condition: str | None,
        input_schema: pa.Schema | Columns,
        *,
        session_time_zone: str = "UTC",
    ) -> None:
        if isinstance(input_schema, pa.Schema):
            self.input_schema = input_schema
            self.flink_types: dict[str, FlinkType] = {}
        else:
            self.input_schema, self.flink_types = schema_from_columns(tuple(input_schema))
        self.projections = [(n, e) for n, e in projections]
        self.condition = condition
        self.session_time_zone = session_time_zone
        self._compiled: _Compiled | None = None

    @classmethod
    def from_spec(cls, spec: CalcSpec) -> CalcOperator:
        return cls(spec.projections, spec.condition, spec.input_columns,
                   session_time_zone=spec.session_time_zone)

    def spec(self) -> CalcSpec:
        return CalcSpec(columns_from_schema(self.input_schema), tuple(self.projections),
                        self.condition, self.session_time_zone)

    def compile(self) -> _Compiled:
        if self._compiled is not None:
            return self._compiled

        trees = {text: parse_expression(text)
                 for text in [self.condition or "", *(t for _, t in self.projections)] if text}
        cse = Cse.for_trees(list(trees.values()))

        def comp(text: str) -> CompiledExpr:
            return compile_expression(trees[text], self.input_schema,
                                      flink_types=self.flink_types,
                                      session_time_zone=self.session_time_zone, cse=cse)

        condition = comp(self.condition) if self.condition else None
        if condition is not None and condition.flink_type.root not in ("BOOLEAN", "NULL"):
            raise ValidationError(
                f"WHERE condition must be BOOLEAN, got {condition.flink_type} ({self.condition})"
            )
        names = [n for n, _ in self.projections]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValidationError(f"duplicate output column name(s): {', '.join(sorted(dup))}")
        projections = [(name, comp(text)) for name, text in self.projections]
        fields = [pa.field(name, c.type) for name, c in projections]
        pass_row_kind = ROW_KIND in self.input_schema.names and ROW_KIND not in names
        if pass_row_kind:
            fields.append(self.input_schema.field(ROW_KIND))
        carried = frozenset(
            key for _, text in self.projections for node in trees[text].walk()
            for key in (cse_key(node), split_key(node)) if key is not None and key in cse.shared
        )
        self._compiled = _Compiled(condition, projections, pa.schema(fields), pass_row_kind,
                                   cse if cse.shared else None, carried)
        return self._compiled

    @property
    def output_schema(self) -> pa.Schema:
        return self.compile().output_schema

    def open(self, ctx: OperatorContext) -> None:
        super().open(ctx)
        self.compile()

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        compiled = self.compile()
        ctx = getattr(self, "ctx", None)
        if ctx is not None:
            ctx.metrics.records_in += batch.num_rows
        try:
            # 1. filter: keep rows whose condition is TRUE
            if compiled.condition is not None:
                mask = pc.fill_null(compiled.condition.evaluate(batch), False)
                if not pc.all(mask).as_py():
                    filtered = batch.filter(mask)
                    if compiled.cse is not None and compiled.carried and filtered.num_rows:
                        compiled.cse.carry(batch, filtered, mask, compiled.carried)
                    batch = filtered
            if batch.num_rows == 0:
                return
            # 2. project
            arrays = [c.evaluate(batch) for _, c in compiled.projections]
        except ExecutionError as exc:
            if ctx is not None and exc.operator_id is None:
                exc.operator_id = ctx.operator_id
            raise
        finally:
            if compiled.cse is not None:
                compiled.cse.clear()
        # 3. keep the changelog row kind
        if compiled.pass_row_kind:
            arrays.append(batch.column(batch.schema.get_field_index(ROW_KIND)))
        # 4. emit
        result = pa.RecordBatch.from_arrays(arrays, schema=compiled.output_schema)
        if ctx is not None:
            ctx.metrics.records_out += result.num_rows
        out.emit(result)
