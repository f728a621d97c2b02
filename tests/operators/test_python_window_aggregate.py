"""Windows with Python aggregate functions: firing, HOP merging slices, late rows, snapshot
and restore."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pytest

from flowsql.errors import NotSupportedError
from flowsql.messages import Watermark
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.python_group_aggregate import check_planned
from flowsql.operators.python_window_aggregate import PythonWindowAggregateOperator
from flowsql.operators.specs import AggCall, WindowAggregateSpec, WindowSpec

SAMPLES = str(Path(__file__).resolve().parents[1] / "udf")
if SAMPLES not in sys.path:
    sys.path.append(SAMPLES)

SSQ = AggCall("PYTHON_UDAF", "v", "ssq", udf=("ssq", "udf_samples.SumSquares"))


def _op(window: WindowSpec) -> PythonWindowAggregateOperator:
    spec = WindowAggregateSpec(window, ("k",), (SSQ, AggCall("COUNT_STAR", None, "n")))
    op = PythonWindowAggregateOperator(spec)
    op.open(OperatorContext("1-python-window-aggregate"))
    return op


def _batch(keys, values, ts) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({
        "k": pa.array(keys, pa.string()), "v": pa.array(values, pa.int64()),
        "ts": pa.array(ts, pa.timestamp("ms")),
    })


def _rows(out: ListCollector) -> list[tuple]:
    return [(r["k"], round(r["window_start"].timestamp() * 1000), r["ssq"], r["n"])
            for r in out.table().to_pylist()]


def test_tumble_fires_at_the_watermark_and_drops_late_rows():
    op, out = _op(WindowSpec("TUMBLE", "ts", size_ms=10)), ListCollector()
    op.process_batch(_batch(["a", "a", "b"], [1, 2, 3], [1, 5, 12]), out)
    op.on_watermark(Watermark(9), out)
    assert _rows(out) == [("a", 0, 5, 2)]
    op.process_batch(_batch(["a", "b"], [4, 1], [3, 15]), out)  # ts 3: its window has fired
    assert op.ctx.metrics.late_records_dropped == 1
    state = op.snapshot(1)
    again, out2 = _op(WindowSpec("TUMBLE", "ts", size_ms=10)), ListCollector()
    again.restore(state)
    again.on_watermark(Watermark(19), out2)
    assert _rows(out2) == [("b", 10, 10, 2)]


def test_hop_merges_slices():
    op, out = _op(WindowSpec("HOP", "ts", size_ms=10, slide_ms=5)), ListCollector()
    op.process_batch(_batch(["a", "a"], [1, 2], [1, 6]), out)
    op.on_watermark(Watermark(30), out)
    assert sorted(_rows(out)) == [("a", -5, 1, 1), ("a", 0, 5, 2), ("a", 5, 4, 1)]


def test_hop_needs_merge_and_session_is_refused():
    no_merge = AggCall("PYTHON_UDAF", "v", "x", udf=("f7", "udf_samples.FailsOnSeven"))
    with pytest.raises(NotSupportedError, match="without merge"):
        check_planned([no_merge], window="HOP")
    check_planned([no_merge], window="TUMBLE")
