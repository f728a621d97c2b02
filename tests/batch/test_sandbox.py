"""The DuckDB sandbox: only the declared paths can be read, and settings stay locked."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.table import Column, ObjectName, TableDefinition
from connectors.base import BatchScan
from flowsql.batch.relations import ScanBinding
from flowsql.batch.sandbox import Sandbox


def _table(name: str) -> TableDefinition:
    return TableDefinition(ObjectName("c", "d", name), (Column("a", "INT"),))


@pytest.fixture
def files(tmp_path):
    ok = tmp_path / "ok"
    secret = tmp_path / "secret"
    ok.mkdir()
    secret.mkdir()
    pq.write_table(pa.table({"a": [1, 2, 3]}), ok / "a.parquet")
    pq.write_table(pa.table({"s": ["top secret"]}), secret / "s.parquet")
    (secret / "s.csv").write_text("x\n1\n")
    return ok, secret


def _sandbox(ok) -> Sandbox:
    scan = BatchScan(duckdb_sql=f"read_parquet(['{ok / 'a.parquet'}'])", allowed_paths=[str(ok)])
    return Sandbox([ScanBinding("__scan_0", _table("t"), scan)])


def test_declared_scan_is_readable(files):
    ok, _ = files
    with _sandbox(ok) as sb:
        assert sb.con.sql("SELECT sum(a) FROM __scan_0").fetchall() == [(6,)]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_parquet('{secret}/s.parquet')",
        "SELECT * FROM '{secret}/s.parquet'",
        "SELECT * FROM read_csv('{secret}/s.csv')",
        "SELECT * FROM read_parquet('{ok}/../secret/s.parquet')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "ATTACH '{secret}/x.db'",
        "COPY (SELECT 1) TO '{secret}/out.csv'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "RESET lock_configuration",
        "SET allowed_directories = ['/']",
    ],
)
def test_escape_attempts_fail_inside_duckdb(files, sql):
    ok, secret = files
    with _sandbox(ok) as sb:
        with pytest.raises(duckdb.Error):
            sb.con.execute(sql.format(ok=ok, secret=secret)).fetchall()
    assert not (secret / "out.csv").exists()


def test_arrow_scan_registered_and_reader_reused(tmp_path):
    data = pa.table({"a": [1, 2]})
    scan = BatchScan(arrow=lambda: pa.RecordBatchReader.from_batches(data.schema, data.to_batches()))
    binding = ScanBinding("__scan_0", _table("t"), scan, references=2)
    with Sandbox([binding]) as sb:
        assert sb.con.sql("SELECT count(*) FROM __scan_0 x, __scan_0 y").fetchall() == [(4,)]
