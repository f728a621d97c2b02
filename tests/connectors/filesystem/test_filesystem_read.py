"""Filesystem source: csv / json / parquet from a file, a directory and a glob; malformed rows."""

from __future__ import annotations

import datetime as dt
import decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.registry import validate_table
from flowsql.errors import ConnectorError, MalformedRecordError

COLUMNS = [("id", "INT"), ("name", "STRING"), ("ts", "TIMESTAMP(3)"), ("price", "DECIMAL(10, 2)")]
EXPECTED = [
    {"id": 1, "name": "apple", "ts": dt.datetime(2024, 1, 1, 0, 0), "price": decimal.Decimal("1.50")},
    {"id": 2, "name": "pear", "ts": dt.datetime(2024, 1, 2, 12, 30, 0, 250000), "price": None},
    {"id": None, "name": "", "ts": None, "price": decimal.Decimal("3.00")},
]


def scan(make_table, options, columns=COLUMNS) -> pa.Table:
    table = make_table(columns, {"connector": "filesystem", **options})
    factory, opts = validate_table(table)
    batch_scan = factory.batch_scan(table, opts)
    if batch_scan.duckdb_sql is not None:
        return duckdb.sql(f"SELECT * FROM {batch_scan.duckdb_sql}").to_arrow_table()
    data = batch_scan.arrow()
    return data if isinstance(data, pa.Table) else data.read_all()


def write_csv(path, text):
    path.write_text(text)
    return path


CSV = "1,apple,2024-01-01 00:00:00,1.50\n2,pear,2024-01-02 12:30:00.250,\n,,,3\n"
JSON = (
    '{"id": 1, "name": "apple", "ts": "2024-01-01 00:00:00", "price": 1.5}\n'
    '{"id": 2, "name": "pear", "ts": "2024-01-02T12:30:00.250", "price": null}\n'
    '\n'
    '{"name": "", "price": "3"}\n'
)


def test_csv_file_types_and_nulls(tmp_path, make_table):
    f = write_csv(tmp_path / "a.csv", CSV)
    got = scan(make_table, {"path": str(f), "format": "csv"})
    assert got.schema.field("ts").type == pa.timestamp("ms")
    assert got.schema.field("price").type == pa.decimal128(10, 2)
    assert got.to_pylist() == EXPECTED


def test_csv_dialect_options(tmp_path, make_table):
    f = write_csv(tmp_path / "a.csv", "# header comment\n1;'a;b';N/A\n2;'it''s';x\n")
    got = scan(make_table, {
        "path": str(f), "format": "csv", "csv.field-delimiter": ";",
        "csv.quote-character": "'", "csv.allow-comments": "true", "csv.null-literal": "N/A",
    }, [("id", "BIGINT"), ("s", "STRING"), ("t", "STRING")])
    assert got.to_pylist() == [
        {"id": 1, "s": "a;b", "t": None}, {"id": 2, "s": "it's", "t": "x"},
    ]


def test_json_file_types_nulls_and_missing_fields(tmp_path, make_table):
    f = tmp_path / "a.json"
    f.write_text(JSON)
    got = scan(make_table, {"path": str(f), "format": "json"})
    assert got.to_pylist() == EXPECTED


def test_json_nested_and_non_string_into_string(tmp_path, make_table):
    f = tmp_path / "a.json"
    f.write_text('{"tags": ["a", "b"], "o": {"x": 1}, "raw": {"k": [1]}, "ltz": "2024-01-01T00:00:00Z"}\n')
    got = scan(make_table, {"path": str(f), "format": "json"}, [
        ("tags", "ARRAY<STRING>"), ("o", "ROW<x INT>"), ("raw", "STRING"),
        ("ltz", "TIMESTAMP_LTZ(3)"),
    ])
    row = got.to_pylist()[0]
    assert row["tags"] == ["a", "b"] and row["o"] == {"x": 1}
    assert row["raw"] == '{"k":[1]}'
    assert row["ltz"] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def test_parquet_file_directory_and_glob(tmp_path, make_table):
    data = pa.table({
        "id": pa.array([1, 2], pa.int64()), "name": ["apple", "pear"],
        "ts": pa.array([dt.datetime(2024, 1, 1), None], pa.timestamp("us")),
        "price": pa.array([decimal.Decimal("1.5"), None], pa.decimal128(5, 1)),
        "extra": [True, False],
    })
    d = tmp_path / "pq"
    (d / "sub").mkdir(parents=True)
    pq.write_table(data, d / "a.parquet")
    pq.write_table(data.slice(0, 1), d / "sub" / "b.parquet")
    (d / "_SUCCESS").write_text("")
    got = scan(make_table, {"path": str(d / "a.parquet"), "format": "parquet"})
    assert got.schema.field("id").type == pa.int32()
    assert got.to_pylist()[0] == {
        "id": 1, "name": "apple", "ts": dt.datetime(2024, 1, 1), "price": decimal.Decimal("1.50"),
    }
    assert scan(make_table, {"path": str(d), "format": "parquet"}).num_rows == 3
    assert scan(make_table, {"path": str(d / "*.parquet"), "format": "parquet"}).num_rows == 2
    missing_col = scan(make_table, {"path": str(d / "a.parquet"), "format": "parquet"},
                       [("id", "INT"), ("absent", "STRING")])
    assert missing_col.column("absent").to_pylist() == [None, None]


def test_directory_and_glob_for_csv(tmp_path, make_table):
    d = tmp_path / "csvs"
    (d / "nested").mkdir(parents=True)
    write_csv(d / "1.csv", "1,a,,\n")
    write_csv(d / "nested" / "2.csv", "2,b,,\n")
    write_csv(d / ".hidden.csv", "3,c,,\n")
    assert scan(make_table, {"path": str(d), "format": "csv"}).column("id").to_pylist() == [1, 2]
    glob = scan(make_table, {"path": str(d / "**" / "*.csv"), "format": "csv"})
    assert sorted(glob.column("id").to_pylist()) == [1, 2]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert scan(make_table, {"path": str(empty), "format": "csv"}).num_rows == 0


def test_missing_path_and_unmatched_glob(tmp_path, make_table):
    with pytest.raises(ConnectorError, match="Path '.*nope.csv' does not exist"):
        scan(make_table, {"path": str(tmp_path / "nope.csv"), "format": "csv"})
    with pytest.raises(ConnectorError, match="No file matches path"):
        scan(make_table, {"path": str(tmp_path / "*.csv"), "format": "csv"})


def test_option_of_another_format_is_rejected(tmp_path, make_table):
    with pytest.raises(ConnectorError, match="'csv.field-delimiter' .* with format 'json'"):
        scan(make_table, {"path": str(tmp_path), "format": "json", "csv.field-delimiter": ";"})


BAD_CSV = '1,apple,2024-01-01 00:00:00,1.5\n2,"multi\nline",,\nthree,x,,\n4,ok,,\n5,short\n'


def test_malformed_csv_names_file_and_line(tmp_path, make_table):
    f = write_csv(tmp_path / "bad.csv", BAD_CSV)
    with pytest.raises(MalformedRecordError) as e:
        scan(make_table, {"path": str(f), "format": "csv"})
    assert e.value.position == f"{f}:4"  # physical line: the quoted field spans lines 2-3
    assert "bad.csv:4" in str(e.value) and "'id'" in str(e.value)


def test_malformed_csv_too_few_fields(tmp_path, make_table):
    f = write_csv(tmp_path / "short.csv", "1,a,,\n2,b\n")
    with pytest.raises(MalformedRecordError, match="too few fields") as e:
        scan(make_table, {"path": str(f), "format": "csv"})
    assert e.value.position.endswith("short.csv:2")


def test_malformed_csv_skipped_with_ignore_parse_errors(tmp_path, make_table):
    f = write_csv(tmp_path / "bad.csv", BAD_CSV)
    got = scan(make_table, {"path": str(f), "format": "csv", "csv.ignore-parse-errors": "true"})
    assert got.column("id").to_pylist() == [1, 2, 4]


BAD_JSON = '{"id": 1}\n{"id": 2\n{"id": "two"}\n[1, 2]\n{"id": 5}\n'


def test_malformed_json_names_file_and_line(tmp_path, make_table):
    f = tmp_path / "bad.json"
    f.write_text(BAD_JSON)
    with pytest.raises(MalformedRecordError, match="not valid JSON") as e:
        scan(make_table, {"path": str(f), "format": "json"})
    assert e.value.position == f"{f}:2"
    f.write_text('{"id": 1}\n\n{"id": "two"}\n')
    with pytest.raises(MalformedRecordError, match="field 'id'") as e:
        scan(make_table, {"path": str(f), "format": "json"})
    assert e.value.position == f"{f}:3"


def test_malformed_json_skipped_with_ignore_parse_errors(tmp_path, make_table):
    f = tmp_path / "bad.json"
    f.write_text(BAD_JSON + '\xff\n'.encode("latin-1").decode("latin-1"))
    with open(f, "ab") as fh:
        fh.write(b'{"id": "\xff"}\n{"id": 6}\n')
    got = scan(make_table, {"path": str(f), "format": "json", "json.ignore-parse-errors": "true"})
    assert got.column("id").to_pylist() == [1, 5, 6]


def test_json_fail_on_missing_field(tmp_path, make_table):
    f = tmp_path / "a.json"
    f.write_text('{"id": 1, "name": "a", "ts": null, "price": null}\n{"id": 2}\n')
    with pytest.raises(MalformedRecordError, match="field 'name' is missing") as e:
        scan(make_table, {"path": str(f), "format": "json", "json.fail-on-missing-field": "true"})
    assert e.value.position.endswith("a.json:2")


def test_files_reader_resumes_after_its_position(tmp_path, make_table):
    """Checkpoint position of a file split: the records read so far; a restored reader skips
    exactly those."""
    from connectors.filesystem.streaming import FilesReader
    from connectors.registry import validate_table

    path = tmp_path / "data.csv"
    path.write_text("".join(f"{i}\n" for i in range(10)))
    table = make_table([("id", "INT")], {"connector": "filesystem", "path": str(path),
                                         "format": "csv"})
    _, opts = validate_table(table)
    reader = FilesReader(table, opts)
    split = reader.splits()[0]
    first = next(iter(reader.read(split)))
    assert reader.position(split) == {"rows": first.num_rows}
    again = FilesReader(table, opts)
    again.seek(split, {"rows": 4})
    rest = [v for b in again.read(split) for v in b.column(0).to_pylist()]
    assert rest == list(range(4, 10)) and again.position(split) == {"rows": 10}


@pytest.mark.parametrize(("fmt", "text"), [
    ("json", '{"v": 1}\nnot json\n{"v": "x"}\n{"v": 4}\n'),
    ("csv", "1\nx\n3,4\n4\n"),
])
def test_streaming_read_counts_skipped_records_in_show_jobs(session, tmp_path, fmt, text):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / f"a.{fmt}").write_text(text)
    session.execute_one(f"CREATE TABLE src (v INT) WITH ('connector' = 'filesystem', "
                        f"'path' = '{tmp_path / 'in'}', 'format' = '{fmt}', "
                        f"'{fmt}.ignore-parse-errors' = 'true')")
    session.execute_one("CREATE TABLE bh (v INT) WITH ('connector' = 'blackhole')")
    session.execute_one("SET 'table.dml-sync' = 'true'")
    job_id = session.execute_one("INSERT INTO bh SELECT v FROM src").job_id
    row = next(j for j in session.execute_one("SHOW JOBS").table.to_pylist()
               if j["job id"] == job_id)
    assert (row["records out"], row["malformed"]) == (2, 2)
