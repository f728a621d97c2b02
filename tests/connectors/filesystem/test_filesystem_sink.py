"""Filesystem sink: part files in the table's format, readable back by the source."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import duckdb
import pyarrow as pa
import pytest

from connectors.registry import validate_table
from flowsql.errors import ConnectorError

COLUMNS = [("id", "INT"), ("name", "STRING"), ("ts", "TIMESTAMP(3)"), ("price", "DECIMAL(10, 2)")]
DATA = pa.table({
    "a": pa.array([1, 2, 3], pa.int32()),
    "b": ["x", None, "with,comma"],
    "c": pa.array([dt.datetime(2024, 1, 1, 0, 0, 0, 123000), None, dt.datetime(2024, 5, 6)],
                  pa.timestamp("ms")),
    "d": pa.array([decimal.Decimal("1.25"), None, decimal.Decimal("-3.50")], pa.decimal128(10, 2)),
})


def read_back(table, opts, factory) -> pa.Table:
    scan = factory.batch_scan(table, opts)
    if scan.duckdb_sql:
        return duckdb.sql(f"SELECT * FROM {scan.duckdb_sql}").to_arrow_table()
    return scan.arrow()


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_part_files_round_trip(tmp_path, make_table, fmt):
    out = tmp_path / "out" / "nested"
    table = make_table(COLUMNS, {"connector": "filesystem", "path": str(out), "format": fmt})
    factory, opts = validate_table(table)
    sink = factory.batch_sink(table, opts)
    assert sink.allowed_paths == [str(out)]
    assert sink.write(DATA) == 3
    reader = pa.RecordBatchReader.from_batches(DATA.schema, DATA.slice(0, 1).to_batches())
    assert sink.write(reader) == 1
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 2
    assert all(name.startswith("part-") and name.endswith(f"-0.{fmt}") for name in files)
    got = read_back(table, opts, factory).sort_by("id")
    expected = [dict(zip(["id", "name", "ts", "price"], r.values(), strict=True))
                for r in DATA.to_pylist()]
    if fmt == "csv":  # without csv.null-literal, CSV cannot tell NULL from '' (as in Flink)
        expected[1]["name"] = ""
    assert got.to_pylist() == sorted(expected + expected[:1], key=lambda r: r["id"])


def test_csv_has_no_header_and_uses_dialect(tmp_path, make_table):
    out = tmp_path / "out"
    table = make_table(COLUMNS, {
        "connector": "filesystem", "path": str(out), "format": "csv",
        "csv.field-delimiter": "|", "csv.null-literal": "NULL",
    })
    factory, opts = validate_table(table)
    factory.batch_sink(table, opts).write(DATA.slice(0, 2))
    (part,) = out.iterdir()
    assert part.read_text().splitlines() == ["1|x|2024-01-01 00:00:00.123|1.25", "2|NULL|NULL|NULL"]


def test_json_iso_timestamps(tmp_path, make_table):
    out = tmp_path / "out"
    table = make_table(COLUMNS, {
        "connector": "filesystem", "path": str(out), "format": "json",
        "json.timestamp-format.standard": "ISO-8601",
    })
    factory, opts = validate_table(table)
    factory.batch_sink(table, opts).write(DATA.slice(0, 1))
    (part,) = out.iterdir()
    assert json.loads(part.read_text())["ts"] == "2024-01-01T00:00:00.123"


def test_sink_path_that_is_a_file(tmp_path, make_table):
    f = tmp_path / "file.csv"
    f.write_text("")
    table = make_table(COLUMNS, {"connector": "filesystem", "path": str(f), "format": "csv"})
    factory, opts = validate_table(table)
    with pytest.raises(ConnectorError, match="is a file"):
        factory.batch_sink(table, opts)


def test_column_count_mismatch(tmp_path, make_table):
    table = make_table(COLUMNS, {"connector": "filesystem", "path": str(tmp_path), "format": "csv"})
    factory, opts = validate_table(table)
    with pytest.raises(ConnectorError, match="4 physical columns"):
        factory.batch_sink(table, opts).write(pa.table({"a": [1]}))


def test_transactional_writer_commits_at_checkpoint_completion_once(tmp_path, make_table):
    """Exactly once: hidden part files until their checkpoint completes; commit and recovery
    are idempotent; files after the last checkpoint never become visible."""
    out = tmp_path / "out"
    table = make_table([("id", "INT")], {"connector": "filesystem", "path": str(out), "format": "csv"})
    factory, opts = validate_table(table)
    w = factory.sink_writer(table, opts)
    w.begin_transactions()
    w.write(pa.record_batch({"a": pa.array([1, 2], pa.int32())}))
    pending = w.prepare_commit(1)
    assert len(pending) == 1 and not list(out.glob("part-*"))  # hidden until complete
    assert list(out.glob(".part-*.inprogress"))
    w.write(pa.record_batch({"a": pa.array([3], pa.int32())}))
    w.prepare_commit(2)  # checkpoint 2 never completes
    w.commit(1)
    w.commit(1)
    assert len(list(out.glob("part-*.csv"))) == 1
    # a crash after checkpoint 1 was durable: recovery commits its files (again: idempotent)
    w2 = factory.sink_writer(table, opts)
    w2.begin_transactions()
    w2.recover(pending)
    visible = sorted(out.glob("part-*.csv"))
    assert len(visible) == 1 and visible[0].read_text().split() == ["1", "2"]
    assert read_back(table, opts, factory).num_rows == 2  # the hidden file of 2 is not read
