"""Differential tests, projection into the file sources: queries that read a subset of a
filesystem table's columns (computed columns, a watermark on a column the query does not
select, a metadata column, partition columns, ``SELECT *``) over csv, json and parquet give
the same rows streaming (the source decodes only the needed columns,
connectors/filesystem/streaming.py) as in batch mode (see harness)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from harness import BOUND_S, COLUMNS, COMPUTED, DIFF_SETTINGS, Differential, Input, inputs
from hypothesis import given

QUERIES = [
    "SELECT g, v2 FROM t WHERE v > 0",  # computed column + filter; ts only for the watermark
    "SELECT ks, COUNT(*) AS n, SUM(v) AS sv FROM t GROUP BY ks",  # computed from k and g
    "SELECT k, window_start, window_end, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE t, "
    "DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end",
    "SELECT m, s FROM t",  # a metadata column (the filesystem source reads it as NULL)
    "SELECT 1 AS one FROM t",  # reads no column: the row count still holds
    "SELECT * FROM t",
]

CSV_COLUMNS = COLUMNS.replace(", r ROW<a INT, b STRING>", "")


def _declare(d: Differential, name: str, path: Path, fmt: str, columns: str,
             partitioned: str = "") -> None:
    d.execute(
        f"CREATE TABLE {name} ({columns}, {COMPUTED}, m STRING METADATA VIRTUAL, "
        f"WATERMARK FOR ts AS ts - INTERVAL '{BOUND_S}' SECOND) {partitioned}"
        f"WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = '{fmt}')")


def _differential(data: Input) -> Differential:
    """A Differential with ``data``'s batch size and parallelism (tables declared by hand)."""
    d = Differential()
    d.execute(f"SET 'table.exec.mini-batch.size' = '{data.batch_size}'")
    d.execute(f"SET 'parallelism.default' = '{data.parallelism}'")
    d.execute("SET 'execution.embedded.parallelism' = 'threads'")
    return d


@pytest.mark.parametrize("fmt", ["parquet", "json"])
@DIFF_SETTINGS
@given(data=inputs())
def test_projection_parquet_json(fmt, data):
    with Differential() as d:
        d.table("base", data, fmt)
        _declare(d, "t", d.root / "data" / f"base.{fmt}", fmt, COLUMNS)
        for sql in QUERIES:
            d.check(sql)


@DIFF_SETTINGS
@given(data=inputs())
def test_projection_csv(data):
    with _differential(data) as d:
        path = d.root / "t.csv"
        pacsv.write_csv(data.table.drop(["r"]), path, pacsv.WriteOptions(include_header=False))
        _declare(d, "t", path, "csv", CSV_COLUMNS)
        for sql in QUERIES:
            d.check(sql)
        # integers and strings only, no watermark: Arrow's streaming reader (the fast path)
        fast = d.root / "fast.csv"
        pacsv.write_csv(data.table.select(["k", "g", "v", "s"]), fast,
                        pacsv.WriteOptions(include_header=False))
        d.execute(f"CREATE TABLE f (k STRING, g INT, v BIGINT, s STRING, v2 AS v * 2) WITH "
                  f"('connector' = 'filesystem', 'path' = '{fast}', 'format' = 'csv')")
        d.check("SELECT g, v2 FROM f WHERE s <> ''")
        d.check("SELECT k, COUNT(*) AS n, SUM(v) AS sv FROM f GROUP BY k")


PARTITIONED = [
    "SELECT g, COUNT(*) AS n, SUM(v) AS sv FROM pt GROUP BY g",
    "SELECT g FROM pt WHERE g > 1",  # only the partition column
    "SELECT k, v2 FROM pt",  # no partition column
    "SELECT 1 AS one FROM pt",
    "SELECT * FROM pt",
]


@DIFF_SETTINGS
@given(data=inputs())
def test_projection_partitioned(data):
    """A table PARTITIONED BY (g): one Parquet file per g value under ``g=<value>``."""
    with _differential(data) as d:
        root = d.root / "pt"
        table = data.table
        g = table.column("g")
        for value in sorted({x for x in g.to_pylist() if x is not None}) + [None]:
            mask = g.is_null() if value is None else pa.compute.equal(g, value)
            part = table.filter(mask).drop(["g"])
            if not part.num_rows:
                continue
            folder = root / f"g={'__DEFAULT_PARTITION__' if value is None else value}"
            folder.mkdir(parents=True)
            pq.write_table(part, folder / "part-0.parquet")
        root.mkdir(parents=True, exist_ok=True)
        _declare(d, "pt", root, "parquet", COLUMNS, partitioned="PARTITIONED BY (g) ")
        for sql in PARTITIONED:
            d.check(sql)
