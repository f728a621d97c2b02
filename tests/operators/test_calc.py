"""CalcOperator: filter + project over Arrow batches, row kinds, specs, errors."""

from __future__ import annotations

import pyarrow as pa
import pytest

from flowsql.errors import ExecutionError, ValidationError
from flowsql.messages import ROW_KIND
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.calc import CalcOperator, CalcSpec

INPUT = (("auction", "BIGINT"), ("price", "BIGINT"), ("channel", "STRING"),
         ("date_time", "TIMESTAMP(3)"))


def _batch(n: int = 6) -> pa.RecordBatch:
    return pa.record_batch({
        "auction": pa.array([i if i != 3 else None for i in range(n)], pa.int64()),
        "price": pa.array([10 * i for i in range(n)], pa.int64()),
        "channel": pa.array(["web", "app", None, "web", "x", "app"][:n]),
        "date_time": pa.array([i * 3_600_000 for i in range(n)], pa.timestamp("ms")),
    })


def _run(op: CalcOperator, *batches: pa.RecordBatch) -> pa.Table:
    op.open(OperatorContext("calc-1"))
    out = ListCollector()
    for b in batches:
        op.process_batch(b, out)
    return out.table(op.output_schema)


def test_filter_then_project() -> None:
    op = CalcOperator(
        [("auction", "auction"), ("euro", "price * 0.908"), ("hour", "HOUR(date_time)")],
        "MOD(auction, 2) = 0 AND channel IS NOT NULL",
        INPUT,
    )
    table = _run(op, _batch())
    assert table.column_names == ["auction", "euro", "hour"]
    assert table.column("auction").to_pylist() == [0, 4]
    assert [float(v) for v in table.column("euro").to_pylist()] == [0.0, 36.32]
    assert table.column("hour").to_pylist() == [0, 4]
    assert str(op.output_schema.field("euro").type) == "decimal128(23, 3)"
    assert op.ctx.metrics.records_in == 6 and op.ctx.metrics.records_out == 2


def test_null_condition_drops_row_and_empty_result_emits_nothing() -> None:
    op = CalcOperator([("a", "auction")], "auction > 1", INPUT)
    assert _run(op, _batch()).column("a").to_pylist() == [2, 4, 5]
    op2 = CalcOperator([("a", "auction")], "price > 1000", INPUT)
    out = ListCollector()
    op2.open(OperatorContext("c"))
    op2.process_batch(_batch(), out)
    assert out.batches == []


def test_no_condition_passes_columns_through() -> None:
    batch = _batch()
    op = CalcOperator([("c", "channel"), ("p", "price")], None, batch.schema)
    table = _run(op, batch, batch)
    assert table.num_rows == 12
    assert table.column("c").to_pylist()[:3] == ["web", "app", None]


def test_row_kind_passes_through() -> None:
    batch = _batch(4)
    batch = batch.append_column(pa.field(ROW_KIND, pa.int8()), pa.array([0, 1, 2, 3], pa.int8()))
    op = CalcOperator([("p", "price + 1")], "price >= 10", batch.schema)
    table = _run(op, batch)
    assert table.column_names == ["p", ROW_KIND]
    assert table.column(ROW_KIND).to_pylist() == [1, 2, 3]


def test_spec_round_trip_and_build() -> None:
    spec = CalcSpec(INPUT, (("c", "UPPER(channel)"), ("d", "DATE_FORMAT(date_time, 'HH:mm')")),
                    "price > 10")
    again = CalcSpec.from_json(spec.to_json())
    assert again == spec
    assert again.output_schema().names == ["c", "d"]
    table = _run(again.build(), _batch())
    assert table.column("c").to_pylist() == [None, "WEB", "X", "APP"]
    assert table.column("d").to_pylist()[0] == "02:00"


def test_validation_at_compile_time() -> None:
    with pytest.raises(ValidationError, match="pricee"):
        CalcSpec(INPUT, (("x", "pricee"),)).output_schema()
    with pytest.raises(ValidationError, match="BOOLEAN"):
        CalcOperator([("x", "price")], "price + 1", INPUT).compile()
    with pytest.raises(ValidationError, match="duplicate"):
        CalcOperator([("x", "price"), ("x", "auction")], None, INPUT).compile()


def test_execution_error_names_operator() -> None:
    op = CalcOperator([("x", "CAST(channel AS INT)")], None, INPUT)
    with pytest.raises(ExecutionError) as err:
        _run(op, _batch())
    assert err.value.operator_id == "calc-1"
    assert "'web'" in str(err.value)
