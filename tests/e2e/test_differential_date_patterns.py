"""Java date patterns read once (flowsql.date_patterns) print and parse the same in both
engines: DATE_FORMAT, FROM_UNIXTIME and TO_TIMESTAMP over Flink's documented pattern letters,
streaming (Arrow) vs batch (DuckDB), on timestamps around midnight, noon and New Year, with
milliseconds and NULLs."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from harness import SCHEMA, Differential, Input, assert_same_rows

# Patterns from Flink's documentation and common Flink jobs (DateTimeFormatter letters).
PATTERNS = [
    "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd", "HH:mm", "yyyyMMdd", "yyyyMMddHHmmss", "yy.MM.dd",
    "M/d/yyyy", "d.M.yy", "H:m", "H:m:s", "h:mm a", "hh 'o''clock' a", "EEE, d MMM yyyy",
    "EEEE, MMMM d", "yyyy-MM-dd'T'HH:mm:ss.SSS", "HH:mm:ss.S", "HH:mm:ss.SS",
    "HH:mm:ss.SSSSSS", "ss.SSSSSSSSS", "D", "DDD", "ww", "uuuu-MM", "MMM yyyy", "'at' HH",
]
PARSE = ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd", "M/d/yyyy", "d.M.yy", "yyyyMMddHHmmss",
         "dd MMM yyyy HH:mm", "yyyy-MM-dd'T'HH:mm"]


def _times() -> Input:
    day = 86_400_000
    fixed = [  # ms since the epoch, UTC wall time
        1_704_067_200_000,  # 2024-01-01 00:00:00 (a Monday)
        1_704_067_199_999,  # 2023-12-31 23:59:59.999
        1_704_110_400_123,  # 2024-01-01 12:00:00.123 (noon: 12 PM)
        1_709_208_000_007,  # 2024-02-29 12:00:00.007 (leap day)
        1_735_603_200_050,  # 2024-12-31 00:00:00.050 (ISO week 1 of 2025)
        946_684_800_000,    # 2000-01-01 00:00:00
    ]
    rng = np.random.default_rng(7)
    ms = np.concatenate([fixed, 1_704_067_200_000 + rng.integers(0, 400 * day, 60)])
    ts = pa.array(ms, pa.int64()).cast(pa.timestamp("ms"))
    ts = pa.concat_arrays([ts, pa.nulls(2, pa.timestamp("ms"))])
    n = len(ts)
    cols = {f.name: pa.nulls(n, f.type) for f in SCHEMA}
    cols["k"] = pa.array([f"r{i}" for i in range(n)])
    cols["ts"] = ts
    return Input(pa.table(cols, schema=SCHEMA), row_group=n)


@pytest.fixture(scope="module")
def differential():
    with Differential() as d:
        d.table("t", _times())
        yield d


def _lit(pattern: str) -> str:
    return "'" + pattern.replace("'", "''") + "'"


def test_date_format_prints_the_same_in_both_engines(differential):
    cols = ", ".join(f"DATE_FORMAT(ts, {_lit(p)}) AS f{i}" for i, p in enumerate(PATTERNS))
    streamed, batched = differential.run(f"SELECT k, {cols} FROM t")
    assert_same_rows(streamed, batched)
    row = {r["k"]: r for r in streamed.to_pylist()}["r2"]  # 2024-01-01 12:00:00.123
    got = {p: row[f"f{i}"] for i, p in enumerate(PATTERNS)}
    assert got["M/d/yyyy"] == "1/1/2024" and got["h:mm a"] == "12:00 PM"
    assert got["hh 'o''clock' a"] == "12 o'clock PM" and got["HH:mm:ss.S"] == "12:00:00.1"
    assert got["HH:mm:ss.SSSSSS"] == "12:00:00.123000" and got["D"] == "1" and got["DDD"] == "001"
    assert got["EEEE, MMMM d"] == "Monday, January 1"


def test_from_unixtime_prints_the_same_in_both_engines(differential):
    sql = ("SELECT k, FROM_UNIXTIME(UNIX_TIMESTAMP(DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss')), "
           "'M/d/yy h:m a') AS f FROM t")
    assert_same_rows(*differential.run(sql))


@pytest.mark.parametrize("pattern", PARSE)
def test_to_timestamp_parses_the_same_in_both_engines(differential, pattern):
    sql = f"SELECT k, TO_TIMESTAMP(DATE_FORMAT(ts, {_lit(pattern)}), {_lit(pattern)}) AS p FROM t"
    streamed, batched = differential.run(sql)
    assert_same_rows(streamed, batched, context=sql)
    assert streamed.column("p").null_count == 2  # only the NULL timestamps
