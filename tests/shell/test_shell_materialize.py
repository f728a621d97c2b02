"""The live views' models: a materialized changelog (table mode) and the latest changes."""

from __future__ import annotations

import pyarrow as pa
import pytest

from flowsql.errors import NotSupportedError
from flowsql.messages import ROW_KIND
from flowsql.shell.materialize import ChangelogBuffer, MaterializedResult

SCHEMA = pa.schema([("k", pa.int32()), ("c", pa.int64())])
INS, UB, UA, D = 0, 1, 2, 3


def changes(rows: list[tuple[int, int, int]]) -> pa.RecordBatch:
    k, c, kind = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.record_batch(
        [pa.array(k, pa.int32()), pa.array(c, pa.int64()), pa.array(kind, pa.int8())],
        names=["k", "c", ROW_KIND],
    )


def rows(model: MaterializedResult) -> list[tuple[int, int]]:
    return list(zip(model.table.column("k").to_pylist(), model.table.column("c").to_pylist(), strict=True))


def test_updates_replace_rows_and_new_rows_go_last() -> None:
    model = MaterializedResult(SCHEMA)
    model.add([changes([(1, 1, INS), (2, 1, INS)])])
    assert rows(model) == [(1, 1), (2, 1)]
    model.add([changes([(1, 1, UB), (1, 2, UA), (3, 1, INS)])])
    assert rows(model) == [(2, 1), (1, 2), (3, 1)]
    model.add([changes([(2, 1, D)])])
    assert rows(model) == [(1, 2), (3, 1)]
    assert model.received == 6 and model.rows == 2


def test_a_row_retracted_and_added_again_keeps_its_place() -> None:
    model = MaterializedResult(SCHEMA)
    model.add([changes([(1, 5, INS), (2, 5, INS)])])
    model.add([changes([(1, 5, UB), (1, 5, UA)])])
    assert rows(model) == [(1, 5), (2, 5)]


def test_duplicates_are_counted() -> None:
    model = MaterializedResult(SCHEMA)
    model.add([changes([(1, 1, INS), (1, 1, INS), (2, 2, INS)]), changes([(1, 1, D)])])
    assert rows(model) == [(1, 1), (2, 2)]
    model.add([changes([(1, 1, INS), (1, 1, INS)])])
    assert sorted(rows(model)) == [(1, 1), (1, 1), (1, 1), (2, 2)]


def test_append_only_streams_keep_the_latest_rows() -> None:
    model = MaterializedResult(SCHEMA, max_rows=3)
    for start in range(0, 10, 2):
        model.add([pa.record_batch({"k": pa.array([start, start + 1], pa.int32()),
                                    "c": pa.array([0, 0], pa.int64())})])
    assert [k for k, _ in rows(model)] == [7, 8, 9]
    assert model.received == 10
    assert model.tail(2).column("k").to_pylist() == [8, 9]


def test_nested_columns_of_an_updating_result_name_the_changelog_mode() -> None:
    schema = pa.schema([("r", pa.struct([("a", pa.int32())]))])
    model = MaterializedResult(schema)
    batch = pa.record_batch(
        [pa.array([{"a": 1}, {"a": 1}], schema.field("r").type), pa.array([INS, D], pa.int8())],
        names=["r", ROW_KIND],
    )
    with pytest.raises(NotSupportedError, match="table mode") as raised:
        model.add([batch])
    assert "'changelog'" in raised.value.render()


def test_changelog_buffer_keeps_the_latest_changes_with_their_kind() -> None:
    buffer = ChangelogBuffer(SCHEMA, max_rows=3)
    buffer.add([changes([(1, 1, INS), (1, 1, UB), (1, 2, UA), (2, 1, INS)])])
    tail = buffer.tail(10)
    assert tail.column("k").to_pylist() == [1, 1, 2]
    assert tail.column(ROW_KIND).to_pylist() == [UB, UA, INS]
    assert buffer.received == 4 and buffer.rows == 4
    append_only = ChangelogBuffer(SCHEMA)
    append_only.add([pa.record_batch({"k": pa.array([7], pa.int32()), "c": pa.array([1], pa.int64())})])
    assert append_only.tail(5).column(ROW_KIND).to_pylist() == [INS]
