"""The GROUP BY operator of Python aggregate functions: changelog, retraction, snapshot and
restore, built-in aggregates beside a Python one, and errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pytest

from flowsql.errors import ExecutionError, NotSupportedError
from flowsql.messages import ROW_KIND, RowKind
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.python_group_aggregate import PythonGroupAggregateOperator, check_planned
from flowsql.operators.specs import AggCall, GroupAggregateSpec

SAMPLES = str(Path(__file__).resolve().parents[1] / "udf")
if SAMPLES not in sys.path:
    sys.path.append(SAMPLES)

SSQ = AggCall("PYTHON_UDAF", "v", "ssq", udf=("ssq", "udf_samples.SumSquares"))
SPEC = GroupAggregateSpec(("k",), (SSQ, AggCall("COUNT_STAR", None, "n"),
                                    AggCall("SUM", "v", "sv"), AggCall("MAX", "v", "mv")))


def _op(spec: GroupAggregateSpec = SPEC) -> PythonGroupAggregateOperator:
    op = PythonGroupAggregateOperator(spec)
    op.open(OperatorContext("1-python-group-aggregate"))
    return op


def _batch(keys, values, kinds=None) -> pa.RecordBatch:
    cols = {"k": pa.array(keys, pa.string()), "v": pa.array(values, pa.int64())}
    if kinds is not None:
        cols[ROW_KIND] = pa.array([int(k) for k in kinds], pa.int8())
    return pa.RecordBatch.from_pydict(cols)


def _rows(out: ListCollector) -> list[tuple]:
    return [(r[ROW_KIND], r["k"], r["ssq"], r["n"], r["sv"], r["mv"])
            for r in out.table().to_pylist()]


def test_changelog_of_an_append_only_input():
    op, out = _op(), ListCollector()
    op.process_batch(_batch(["a", "a", "b"], [1, 2, None]), out)
    op.process_batch(_batch(["a", "c"], [3, 4]), out)
    assert _rows(out) == [
        (RowKind.INSERT, "a", 5, 2, 3, 2), (RowKind.INSERT, "b", 0, 1, None, None),
        (RowKind.UPDATE_BEFORE, "a", 5, 2, 3, 2), (RowKind.UPDATE_AFTER, "a", 14, 3, 6, 3),
        (RowKind.INSERT, "c", 16, 1, 4, 4),
    ]


def test_retraction_and_deletion():
    spec = GroupAggregateSpec(("k",), (SSQ, AggCall("COUNT_STAR", None, "n")))
    op, out = _op(spec), ListCollector()
    op.process_batch(_batch(["a", "a", "b"], [1, 2, 5]), out)
    op.process_batch(_batch(["a", "b"], [2, 5], [RowKind.UPDATE_BEFORE, RowKind.DELETE]), out)
    rows = [(r[ROW_KIND], r["k"], r["ssq"], r["n"]) for r in out.table().to_pylist()]
    assert rows[2:] == [(RowKind.UPDATE_BEFORE, "a", 5, 2), (RowKind.DELETE, "b", 25, 1),
                        (RowKind.UPDATE_AFTER, "a", 1, 1)]


def test_snapshot_and_restore_continue_the_same_groups():
    op, out = _op(), ListCollector()
    op.process_batch(_batch(["a", "b"], [1, 2]), out)
    state = op.snapshot(1)
    again, out2 = _op(), ListCollector()
    again.restore(state)
    again.process_batch(_batch(["a"], [3]), out2)
    assert _rows(out2) == [(RowKind.UPDATE_BEFORE, "a", 1, 1, 1, 1),
                           (RowKind.UPDATE_AFTER, "a", 10, 2, 4, 3)]


def test_max_cannot_retract():
    op = _op()
    op.process_batch(_batch(["a"], [1]), ListCollector())
    with pytest.raises(NotSupportedError, match="MAX over an updating"):
        op.process_batch(_batch(["a"], [1], [RowKind.DELETE]), ListCollector())


def test_a_raising_aggregate_names_itself_and_the_row():
    spec = GroupAggregateSpec(("k",), (AggCall("PYTHON_UDAF", "v", "x",
                                               udf=("bad", "udf_samples.FailsOnSeven")),))
    op = _op(spec)
    with pytest.raises(ExecutionError) as info:
        op.process_batch(_batch(["a", "a"], [1, 7]), ListCollector())
    assert info.value.message == ("Python aggregate function 'bad' raised ValueError: seven in "
                                  "accumulate on the row with arguments (7)")


def test_planning_checks():
    check_planned([AggCall("COUNT", "v", "c")], window="SESSION")  # no Python aggregate: fine
    check_planned([SSQ], window="HOP")
    with pytest.raises(NotSupportedError, match="in a SESSION window"):
        check_planned([SSQ], window="SESSION")
    with pytest.raises(NotSupportedError, match="FIRST_VALUE in a GROUP BY that calls a Python"):
        check_planned([SSQ, AggCall("FIRST_VALUE", "v", "f")], window=None)
