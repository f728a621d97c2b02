"""Projection into the filesystem source (connectors/filesystem/streaming.py ``read_file``,
connectors/formats/csv_format.py ``stream_csv``, flowsql/planner/translate.py): the reader
decodes only the columns the planner names, and the planner names what the query, computed
columns, filter and watermark read (the watermark only when the plan uses event time)."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from catalog.table import Column, TableDefinition
from connectors.filesystem.factory import FilesystemFactory
from connectors.formats import csv_format
from flowsql.errors import MalformedRecordError
from flowsql.messages import ROW_KIND
from flowsql.planner.plan import plan_query
from flowsql.sql.parser import parse_query

COLUMNS = (Column("a", "BIGINT"), Column("b", "STRING"), Column("c", "BIGINT"),
           Column("d", "STRING"))


def _table(path, fmt: str, partition_keys: tuple[str, ...] = ()) -> TableDefinition:
    return TableDefinition.from_json({
        "name": {"catalog": "c", "database": "d", "name": "t"},
        "columns": [{"name": c.name, "data_type": c.data_type, "kind": "physical"}
                    for c in COLUMNS],
        "options": {"connector": "filesystem", "path": str(path), "format": fmt},
        "partition_keys": list(partition_keys),
    })


def _read(table: TableDefinition, project: list[str] | None) -> pa.Table:
    factory = FilesystemFactory()
    reader = factory.source_reader(table, factory.validate(table), project=project)
    batches = [b for split in reader.splits() for b in reader.read(split)]
    return pa.Table.from_batches(batches)


def _rows(n: int) -> pa.Table:
    return pa.table({"a": pa.array(range(n), pa.int64()),
                     "b": pa.array([f"b{i}" for i in range(n)]),
                     "c": pa.array([i * 10 for i in range(n)], pa.int64()),
                     "d": pa.array([f"d,{i}" for i in range(n)])})


def test_parquet_reads_only_the_projected_columns(tmp_path, monkeypatch):
    path = tmp_path / "t.parquet"
    pq.write_table(_rows(100), path, row_group_size=30)
    asked = []
    original = pq.ParquetFile.iter_batches

    def spy(self, *args, **kwargs):
        asked.append(kwargs.get("columns"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    got = _read(_table(path, "parquet"), ["c", "a"])
    assert asked == [["a", "c"]]
    assert got.schema.names == ["a", "c"]  # table order, not the order asked
    assert got.column("c").to_pylist() == [i * 10 for i in range(100)]
    assert _read(_table(path, "parquet"), None).schema.names == ["a", "b", "c", "d"]


def test_csv_converts_only_the_projected_fields(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    pacsv.write_csv(_rows(50), path, pacsv.WriteOptions(include_header=False))
    included = []
    original = pacsv.open_csv

    def spy(*args, **kwargs):
        included.append(list(kwargs["convert_options"].include_columns))
        return original(*args, **kwargs)

    monkeypatch.setattr(pacsv, "open_csv", spy)
    got = _read(_table(path, "csv"), ["d", "a"])
    assert included == [["a", "d"]]
    assert got.schema.names == ["a", "d"]
    assert got.column("d").to_pylist() == [f"d,{i}" for i in range(50)]


def test_csv_bad_value_in_an_unread_field_is_not_malformed(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1,x,notanumber,y\n2,z,30,w\n")
    table = _table(path, "csv")
    assert _read(table, ["a", "b"]).column("a").to_pylist() == [1, 2]
    with pytest.raises(MalformedRecordError, match="column 'c'"):
        _read(table, ["a", "c"])
    with pytest.raises(MalformedRecordError):  # the field count is still checked
        path.write_text("1,x,3,y\n2,z\n")
        _read(table, ["a"])


def test_csv_streams_block_by_block_and_falls_back_mid_file(tmp_path, monkeypatch):
    """Arrow streams the good blocks; a block it refuses ('+5': the query accepts it) sends
    the file to the query, which skips the rows already given: every row exactly once."""
    monkeypatch.setattr(csv_format, "_FAST_BLOCK_BYTES", 4096)
    n = 3000
    lines = [f"{i},s{i},{i},t" for i in range(n)] + ["+5,plus,1,t"]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    reader = csv_format.stream_csv(str(path), list(COLUMNS), ["a", "b"], {})
    first = reader.read_next_batch()
    assert first.num_rows < n  # a block, not the whole file, before the first batch
    rest = reader.read_all()
    got = pa.Table.from_batches([first]).to_pylist() + rest.to_pylist()
    assert [r["a"] for r in got] == list(range(n)) + [5]
    assert got[-1]["b"] == "plus"


def test_json_extracts_only_the_projected_keys(tmp_path):
    path = tmp_path / "t.json"
    path.write_text("\n".join(json.dumps({"a": i, "b": f"b{i}", "c": "not a number", "d": "x"})
                              for i in range(5)) + "\n")
    got = _read(_table(path, "json"), ["a", "d"])
    assert got.schema.names == ["a", "d"]
    assert got.column("a").to_pylist() == list(range(5))


def test_partition_columns_come_from_the_directories(tmp_path):
    for part in ("x", "y"):
        (tmp_path / f"d={part}").mkdir()
        pq.write_table(_rows(4).drop(["d"]), tmp_path / f"d={part}" / "f.parquet")
    table = _table(tmp_path, "parquet", partition_keys=("d",))
    only_partition = _read(table, ["d"])
    assert only_partition.schema.names == ["d"]
    assert sorted(only_partition.column("d").to_pylist()) == ["x"] * 4 + ["y"] * 4
    mixed = _read(table, ["c", "d"])
    assert mixed.schema.names == ["c", "d"] and mixed.num_rows == 8


def test_changelog_format_decodes_whole_rows_then_keeps_the_projected(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"op": "c", "before": None,
                                "after": {"a": 1, "b": "x", "c": 3, "d": "y"}}) + "\n")
    got = _read(_table(path, "debezium-json"), ["b"])
    assert got.schema.names == ["b", ROW_KIND]


# -- the planner names the columns -----------------------------------------------------------
DDL = """
CREATE TABLE f (a BIGINT, b STRING, c BIGINT, d STRING, ts TIMESTAMP(3),
  c2 AS c * 2, m STRING METADATA VIRTUAL, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'parquet')
"""


def _source(session, sql: str) -> dict:
    graph = plan_query(session, parse_query(sql)).graph
    (src,) = [op for op in graph.operators if op.kind == "source"]
    return src.params


WINDOW = ("SELECT window_start, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE f, DESCRIPTOR(ts), "
          "INTERVAL '1' MINUTE)) GROUP BY window_start, window_end")


@pytest.mark.parametrize("sql, project", [
    # nothing uses event time: no watermark, so its column ts is not read (planner.event_time)
    ("SELECT a FROM f", ["a"]),
    ("SELECT c2 FROM f WHERE b = 'x'", ["b", "c"]),  # computed column, filter
    ("SELECT m, d FROM f", ["d"]),  # a metadata column reads no source column
    ("SELECT COUNT(*) FROM f", ["a"]),
    ("SELECT b, SUM(c) FROM f GROUP BY b", ["b", "c"]),
    # a window needs the watermark, which reads ts
    (WINDOW, ["ts"]),
    ("SELECT * FROM f", None),  # every column: no projection
    ("SELECT a, b, c, d, ts FROM f", None),
])
def test_translate_passes_the_needed_columns(session, tmp_path, sql, project):
    session.execute_one(DDL.format(path=tmp_path))
    assert _source(session, sql).get("project") == project


def test_translate_keeps_changelog_sources_whole(session, tmp_path):
    session.execute_one(f"CREATE TABLE cdc (a BIGINT, b STRING) WITH ('connector' = "
                        f"'filesystem', 'path' = '{tmp_path}', 'format' = 'debezium-json')")
    assert "project" not in _source(session, "SELECT a FROM cdc")


def test_csv_query_path_projection_keeps_empty_field_semantics(tmp_path):
    """Outside the fast path (a TIMESTAMP column): an empty field is NULL for an integer and
    the empty string for a string, whichever columns are selected."""
    path = tmp_path / "t.csv"
    path.write_text('"k0",,12,"",2024-01-01 00:00:00.000\n')
    cols = [Column("k", "STRING"), Column("g", "INT"), Column("v", "BIGINT"),
            Column("s", "STRING"), Column("ts", "TIMESTAMP(3)")]
    for names in (["g", "ts"], ["g", "s"], ["k", "v"]):
        row = csv_format.stream_csv(str(path), cols, names, {}).read_all().to_pylist()[0]
        assert row == {n: {"k": "k0", "g": None, "v": 12, "s": ""}.get(n, row.get("ts"))
                       for n in names}


def test_statement_set_still_reads_a_file_table_once(session, tmp_path):
    """Two INSERTs reading different columns of one file table share its scan (a statement
    set's sources read every column), and each sink gets its columns."""
    pq.write_table(_rows(300), tmp_path / "src.parquet")
    session.execute_one(f"CREATE TABLE src (a BIGINT, b STRING, c BIGINT, d STRING) WITH "
                        f"('connector' = 'filesystem', 'path' = '{tmp_path / 'src.parquet'}', "
                        f"'format' = 'parquet')")
    for name, cols in (("out_a", "a BIGINT"), ("out_cd", "c BIGINT, d STRING")):
        session.execute_one(f"CREATE TABLE {name} ({cols}) WITH ('connector' = 'filesystem', "
                            f"'path' = '{tmp_path / name}', 'format' = 'parquet')")
    session.execute_one("SET 'table.dml-sync' = 'true'")
    r = session.execute_one("EXECUTE STATEMENT SET BEGIN INSERT INTO out_a SELECT a FROM src; "
                            "INSERT INTO out_cd SELECT c, d FROM src WHERE a < 10; END")
    from flowsql.session import streaming

    metrics = streaming.cluster(session).metrics(r.job_id)
    assert sum(m.records_out for op, m in metrics.items() if "source" in op) == 300
    assert pq.read_table(tmp_path / "out_a").num_rows == 300
    assert sorted(pq.read_table(tmp_path / "out_cd").column("c").to_pylist()) == [
        i * 10 for i in range(10)]
