"""Batch-mode test fixtures: random data files generated at test time, and a DuckDB oracle.

``data_files`` writes the same random ``bids`` rows (nulls, duplicates, many keys,
out-of-order timestamps) as Parquet, headerless CSV and newline-delimited JSON, plus a small
``keys`` dimension table. ``bsession`` is a batch-mode Session with tables over them.
``assert_same(session, flink_sql, duck_sql)`` runs the Flink query through the Session and the
hand-written DuckDB query (``{bids}``/``{keys}`` → the Parquet files) directly in DuckDB, and
compares the results as sorted multisets of rows.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

N_ROWS = 400
BASE_MS = 1_704_067_200_000  # 2024-01-01 00:00:00 UTC

BIDS_COLUMNS = (
    "id BIGINT, k STRING, v INT, price DOUBLE, tags STRING, url STRING, ts TIMESTAMP(3)"
)


def _bids(rng: np.random.Generator, n: int) -> pa.Table:
    words = np.array(["red", "green", "blue", "cyan", "gold"])
    ids = rng.permutation(n).astype("int64")
    keys = np.array([f"key_{i:02d}" for i in rng.integers(0, 30, n)])
    v = rng.integers(-5, 50, n).astype("int32")
    v_null = rng.random(n) < 0.1
    price = np.round(rng.random(n) * 100, 2)
    price_null = rng.random(n) < 0.05
    counts = rng.integers(1, 5, n)
    tags = np.array([",".join(rng.choice(words, c)) for c in counts])
    urls = np.array(
        [f"/item?user=U{u}&item=I{i}" if u % 7 else "/home" for u, i in zip(rng.integers(0, 50, n), rng.integers(0, 9, n), strict=True)]
    )
    # out-of-order event times within ~2 minutes, some duplicates, a few NULLs
    offsets = np.sort(rng.integers(0, 120_000, n))
    offsets = offsets + rng.integers(-3_000, 3_000, n)
    offsets[rng.random(n) < 0.05] = offsets[0]
    ts_null = rng.random(n) < 0.02
    return pa.table(
        {
            "id": ids,
            "k": keys,
            "v": pa.array(v, mask=v_null),
            "price": pa.array(price, mask=price_null),
            "tags": tags,
            "url": urls,
            "ts": pa.array((BASE_MS + offsets).astype("datetime64[ms]"), mask=ts_null),
        }
    )


@pytest.fixture(scope="session")
def data_files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("batch-data")
    rng = np.random.default_rng(20240601)
    bids = _bids(rng, N_ROWS)
    keys = pa.table(
        {
            "k": [f"key_{i:02d}" for i in range(0, 40, 2)],
            "region": [["north", "south", "east", "west"][i % 4] for i in range(20)],
            "weight": pa.array(list(range(20)), pa.int32()),
        }
    )
    files = {name: root / name for name in ("bids.parquet", "bids.csv", "bids.json", "keys.parquet")}
    pq.write_table(bids, files["bids.parquet"])
    pq.write_table(keys, files["keys.parquet"])
    con = duckdb.connect()
    con.register("b", bids)
    con.execute(f"COPY b TO '{files['bids.csv']}' (FORMAT csv, HEADER false)")
    con.execute(f"COPY b TO '{files['bids.json']}' (FORMAT json)")
    con.close()
    return files


def create_bids(session, name: str, path: Path, fmt: str, extra: str = "") -> None:
    session.execute_one(
        f"CREATE TABLE {name} ({BIDS_COLUMNS}{extra}) "
        f"WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = '{fmt}')"
    )


@pytest.fixture
def bsession(session, data_files):
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    create_bids(
        session, "bids", data_files["bids.parquet"], "parquet",
        ", v2 AS v * 2, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND",
    )
    create_bids(session, "bids_csv", data_files["bids.csv"], "csv")
    create_bids(session, "bids_json", data_files["bids.json"], "json")
    session.execute_one(
        "CREATE TABLE keys (k STRING, region STRING, weight INT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{data_files['keys.parquet']}', 'format' = 'parquet')"
    )
    return session


def _norm(value):
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if hasattr(value, "as_tuple"):  # Decimal
        return int(value) if value == int(value) else round(float(value), 6)
    return value


def rows(table: pa.Table) -> list[tuple]:
    columns = [col.to_pylist() for col in table.columns]
    return [tuple(_norm(v) for v in row) for row in zip(*columns, strict=True)]


def _key(row: tuple) -> tuple:
    def one(v):
        if v is None:
            return (0, "", 0.0)
        if isinstance(v, bool | int | float):
            return (1, "", float(v))
        return (2, str(v), 0.0)

    return tuple(one(v) for v in row)


def oracle(duck_sql: str, data_files: dict[str, Path]) -> pa.Table:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    sql = duck_sql.format(
        bids=f"read_parquet('{data_files['bids.parquet']}')",
        keys=f"read_parquet('{data_files['keys.parquet']}')",
    )
    try:
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


def assert_same(session, data_files, flink_sql: str, duck_sql: str, *, ordered: bool = False) -> pa.Table:
    result = session.execute_one(flink_sql)
    assert result.kind == "table", result
    got, expected = rows(result.table), rows(oracle(duck_sql, data_files))
    if not ordered:
        got, expected = sorted(got, key=_key), sorted(expected, key=_key)
    assert len(got) == len(expected), f"{len(got)} rows, expected {len(expected)}"
    assert got == expected
    assert len(got) > 0, "differential test returned no rows: make the query select something"
    return result.table


@pytest.fixture
def same(bsession, data_files):
    """``same(flink_sql, duck_sql, ordered=False)``: the differential assertion."""

    def check(flink_sql: str, duck_sql: str, *, ordered: bool = False) -> pa.Table:
        return assert_same(bsession, data_files, flink_sql, duck_sql, ordered=ordered)

    return check


@pytest.fixture
def oracle_rows(data_files):
    """``oracle_rows(duck_sql)``: the normalized rows of a DuckDB query over the data files."""
    return lambda duck_sql: rows(oracle(duck_sql, data_files))


@pytest.fixture
def to_rows():
    return rows
