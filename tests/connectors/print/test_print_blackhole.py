"""Print sink output format (Flink's row-kind prefix) and the blackhole sink."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from connectors.registry import validate_table
from flowsql.errors import ConnectorError
from flowsql.messages import ROW_KIND

DATA = pa.table({
    "id": pa.array([1, None], pa.int32()),
    "name": ["foo", "bar"],
    "ts": pa.array([dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2, 3, 4, 5, 600000)],
                   pa.timestamp("ms")),
    "ok": [True, None],
    "x": [1.0, 2.5],
    "price": pa.array([decimal.Decimal("1.50"), None], pa.decimal128(5, 2)),
})
COLUMNS = [("id", "INT"), ("name", "STRING"), ("ts", "TIMESTAMP(3)"), ("ok", "BOOLEAN"),
           ("x", "DOUBLE"), ("price", "DECIMAL(5, 2)")]


def sink(make_table, options):
    table = make_table(COLUMNS, {"connector": "print", **options})
    factory, opts = validate_table(table)
    return factory.batch_sink(table, opts)


def test_print_rows_with_row_kind_prefix(make_table, capsys):
    assert sink(make_table, {}).write(DATA) == 2
    assert capsys.readouterr().out.splitlines() == [
        "+I[1, foo, 2024-01-01 00:00:00.000, TRUE, 1.0, 1.50]",
        "+I[NULL, bar, 2024-01-02 03:04:05.600, NULL, 2.5, NULL]",
    ]


def test_print_changelog_identifier_and_stderr(make_table, capsys):
    changelog = DATA.select(["id", "name"]).append_column(ROW_KIND, pa.array([1, 2], pa.int8()))
    sink(make_table, {"print-identifier": "sink1", "standard-error": "true"}).write(changelog)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == ["sink1> -U[1, foo]", "sink1> +U[NULL, bar]"]


def test_print_reader_input(make_table, capsys):
    reader = pa.RecordBatchReader.from_batches(DATA.schema, DATA.to_batches(max_chunksize=1))
    assert sink(make_table, {}).write(reader) == 2
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_blackhole_counts_and_drops(make_table):
    table = make_table(COLUMNS, {"connector": "blackhole"})
    factory, opts = validate_table(table)
    hole = factory.batch_sink(table, opts)
    assert hole.write(DATA) == 2
    assert hole.write(pa.RecordBatchReader.from_batches(DATA.schema, DATA.to_batches())) == 2
    assert hole.rows == 4


def test_blackhole_sleep_per_batch_option_is_validated(make_table):
    table = make_table(COLUMNS, {"connector": "blackhole", "sink.sleep-per-batch": "20 ms"})
    factory, opts = validate_table(table)
    assert opts["sink.sleep-per-batch"] == 20
    writer = factory.sink_writer(table, opts)
    assert writer.sleep_s == 0.02
    writer.write(DATA.to_batches()[0])
    assert writer.rows == 2
    assert factory.sink_writer(make_table(COLUMNS, {"connector": "blackhole"}), {}).sleep_s == 0
    bad = make_table(COLUMNS, {"connector": "blackhole", "sink.sleep-per-batch": "soon"})
    with pytest.raises(ConnectorError, match="sink.sleep-per-batch"):
        validate_table(bad)
