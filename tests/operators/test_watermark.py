"""WatermarkAssignerOperator: computed columns and bounded-out-of-orderness watermarks."""

from __future__ import annotations

import pyarrow as pa
import pytest

from flowsql.errors import ValidationError
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.watermark import WatermarkAssignerOperator, WatermarkAssignerSpec
from flowsql.runtime.messages import MAX_WATERMARK, MIN_WATERMARK, Watermark

INPUT = (("id", "BIGINT"), ("ts_ms", "BIGINT"), ("date_time", "TIMESTAMP(3)"))


def _batch(times: list[int | None]) -> pa.RecordBatch:
    return pa.record_batch({
        "id": pa.array(range(len(times)), pa.int64()),
        "ts_ms": pa.array(times, pa.int64()),
        "date_time": pa.array(times, pa.timestamp("ms")),
    })


def _open(op: WatermarkAssignerOperator) -> WatermarkAssignerOperator:
    op.open(OperatorContext("wm-1"))
    return op


def test_bounded_out_of_orderness() -> None:
    op = _open(WatermarkAssignerOperator("date_time", "date_time - INTERVAL '4' SECOND", INPUT))
    out = ListCollector()
    assert op.current_watermark() == MIN_WATERMARK
    assert op.poll_watermark() is None
    op.process_batch(_batch([10_000, 12_000, 11_000]), out)
    assert op.current_watermark() == 12_000 - 4_000 - 1
    assert op.poll_watermark() == Watermark(7_999)
    assert op.poll_watermark() is None
    op.process_batch(_batch([9_000, None]), out)  # older rows never move it back
    assert op.current_watermark() == 7_999
    assert op.poll_watermark() is None
    op.process_batch(_batch([20_000]), out)
    assert op.poll_watermark() == Watermark(15_999)
    assert sum(b.num_rows for b in out.batches) == 6  # no row is dropped


def test_computed_columns_are_appended_and_usable_as_rowtime() -> None:
    op = _open(WatermarkAssignerOperator(
        "rt", "rt - INTERVAL '1' SECOND", INPUT,
        computed_columns=[("rt", "TO_TIMESTAMP_LTZ(ts_ms, 3)"), ("double_id", "id * 2")],
    ))
    out = ListCollector()
    op.process_batch(_batch([5_000, 7_000]), out)
    batch = out.batches[0]
    assert batch.schema.names == ["id", "ts_ms", "date_time", "rt", "double_id"]
    assert batch.column("double_id").to_pylist() == [0, 2]
    assert str(batch.schema.field("rt").type) == "timestamp[ms, tz=UTC]"
    assert op.output_schema == batch.schema
    assert op.current_watermark() == 5_999


def test_end_of_input_and_upstream_watermarks() -> None:
    op = _open(WatermarkAssignerOperator("date_time", "date_time", INPUT))
    out = ListCollector()
    assert op.on_watermark(Watermark(123), out) is None
    assert op.on_watermark(Watermark(MAX_WATERMARK), out) == Watermark(MAX_WATERMARK)
    assert op.current_watermark() == MAX_WATERMARK


def test_snapshot_restore_and_spec_round_trip() -> None:
    spec = WatermarkAssignerSpec(INPUT, "date_time", "date_time - INTERVAL '2' SECOND",
                                 (("c", "id + 1"),))
    assert WatermarkAssignerSpec.from_json(spec.to_json()) == spec
    op = _open(spec.build())
    op.process_batch(_batch([10_000]), ListCollector())
    assert op.poll_watermark() == Watermark(7_999)
    state = op.snapshot(1)
    fresh = _open(spec.build())
    fresh.restore(state)
    assert fresh.current_watermark() == 7_999
    assert fresh.poll_watermark() is None
    fresh.process_batch(_batch([9_000]), ListCollector())
    assert fresh.current_watermark() == 7_999


def test_validation() -> None:
    with pytest.raises(ValidationError, match="TIMESTAMP"):
        WatermarkAssignerOperator("ts_ms", "date_time", INPUT).compile()
    with pytest.raises(ValidationError, match="TIMESTAMP"):
        WatermarkAssignerOperator("date_time", "ts_ms", INPUT).compile()
    with pytest.raises(ValidationError, match="'dt'.*`date_time`"):
        WatermarkAssignerOperator("dt", "dt", INPUT).compile()
