"""Differential harness: the same Flink SQL in streaming mode and in batch mode (DuckDB).

Contract:
- :func:`inputs` is a hypothesis strategy for one input table (:class:`Input`): an Arrow
  table of :data:`COLUMNS` in *arrival order*, the row-group size it is written with (a
  Parquet row group is one read of the streaming source), the source batch size
  (``table.exec.mini-batch.size``: the streaming watermark advances between batches, so this
  sets how often windows fire and how many retractions an updating result goes through) and
  the job parallelism (1 or 2: hash exchanges, one idle source subtask). Two drawing modes: element-wise rows (small, shrink well) and bulk rows
  generated with numpy from drawn parameters (up to :data:`MAX_ROWS`). Either way the data
  have keys with few or many distinct values, NULLs in keys and values, duplicated rows and
  event times out of order by less than the watermark bound, so that **no row is late**
  (:func:`make_on_time`): a row's time is above ``max(earlier times) - bound``.
- :func:`late_input` appends rows that *are* late (their windows closed long before they
  arrive), in their own row group after the on-time rows, for the late-data tests.
- :class:`Differential` owns a fresh Session (its own FLOWSQL_HOME) per example: ``table()``
  writes an input as Parquet or JSON under a temporary directory and declares it with the
  filesystem connector, :data:`COMPUTED` columns and ``WATERMARK FOR ts AS ts - INTERVAL
  '<bound>' SECOND`` (the first table's batch size and parallelism become the session's);
  ``run(sql)`` executes ``sql`` (a SELECT) in streaming mode and in batch mode and returns
  both result tables; ``check(sql)`` also asserts they are equal.
- :func:`assert_same_rows` compares two tables as multisets of rows: column names must match;
  values are normalized (Decimal and float → float compared with a relative tolerance,
  timezone-aware timestamps → naive UTC, NaN → None) and rows are matched after sorting.

Why hand-written rather than a library: the comparison must tolerate the type differences
between the engines (DECIMAL vs DOUBLE, INT vs BIGINT) and float rounding while staying exact
on every other value; that is a few dozen lines, not worth a dependency.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.examples import examples

BASE_MS = 1_704_067_200_000  # 2024-01-01 00:00:00 UTC
BOUND_S = 5  # watermark bound: WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
MAX_ROWS = 2000
ROW_TYPE = pa.struct([("a", pa.int32()), ("b", pa.string())])
COLUMNS = "k STRING, g INT, v BIGINT, p DOUBLE, s STRING, r ROW<a INT, b STRING>, ts TIMESTAMP(3)"
COMPUTED = "v2 AS v * 2, ks AS CONCAT(COALESCE(k, '?'), '-', CAST(g AS STRING))"
SCHEMA = pa.schema([
    ("k", pa.string()), ("g", pa.int32()), ("v", pa.int64()), ("p", pa.float64()),
    ("s", pa.string()), ("r", ROW_TYPE), ("ts", pa.timestamp("ms")),
])
WORDS = ["apple", "Banana", "cherry pie", "", "dátil", "eggplant", "fig_7", "GRAPE"]

# Every differential property uses these settings: few examples, no deadline (a streaming job
# per example), and function-scoped fixtures are fine because each example makes its own Session.
DIFF_SETTINGS = settings(
    max_examples=examples(10),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
    derandomize=False,
)


@dataclass
class Input:
    """One input table in arrival order, and how many rows go into one Parquet row group."""

    table: pa.Table
    row_group: int
    late_rows: int = 0  # how many of the last rows are late (see :func:`late_input`)
    batch_size: int = 8192  # streaming source batch size ('table.exec.mini-batch.size')
    parallelism: int = 1  # 'parallelism.default' of the streaming job

    @property
    def on_time(self) -> pa.Table:
        return self.table.slice(0, self.table.num_rows - self.late_rows)

    def __repr__(self) -> str:  # hypothesis prints failing examples with this
        return (f"Input(rows={self.table.num_rows}, row_group={self.row_group}, "
                f"late={self.late_rows}, batch_size={self.batch_size}, "
                f"parallelism={self.parallelism}, head={self.table.slice(0, 8).to_pylist()})")


# -- event times ----------------------------------------------------------------------------
def make_on_time(ts_ms: np.ndarray, bound_ms: int = BOUND_S * 1000) -> np.ndarray:
    """Raise each time to at least ``max(earlier times) - bound + 1`` so no row is late.

    The watermark after any prefix of rows is at most ``max(prefix) - bound - 1`` (bounded
    out-of-orderness), so a row above ``max(earlier) - bound`` is never behind the watermark,
    whatever the batch boundaries. Raising a row never changes the running maximum, so this is
    one vectorized pass (running max, shifted by one row).
    """
    if len(ts_ms) == 0:
        return ts_ms
    running = np.maximum.accumulate(ts_ms)
    floor = np.concatenate([[np.iinfo(np.int64).min + bound_ms], running[:-1] - bound_ms + 1])
    return np.maximum(ts_ms, floor)


def _timestamps(offsets_ms: np.ndarray) -> pa.Array:
    return pa.array((BASE_MS + offsets_ms.astype(np.int64)).astype("datetime64[ms]"))


# -- drawing rows ---------------------------------------------------------------------------
_KEY = st.sampled_from(["a", "b", "c", "dd", "é", None])
_G = st.sampled_from([0, 1, 2, None])
_V = st.one_of(st.none(), st.integers(-20, 100))
_P = st.one_of(st.none(), st.floats(-1000, 1000, allow_nan=False, width=32).map(float))
_S = st.one_of(st.none(), st.sampled_from(WORDS))
# How many source batches an input arrives in (at most; the batch size is derived from it, so
# a 2,000-row input is never pushed through the job one row at a time — that is slow, and the
# small inputs already cover one-row batches).
_BATCHES = st.sampled_from([1, 2, 5, 20, 60])


def _batch_size(draw: st.DrawFn, rows: int) -> int:
    return max(1, -(-rows // draw(_BATCHES)))  # ceil(rows / batches)
_PARALLELISM = st.sampled_from([1, 1, 2])
_R = st.one_of(st.none(), st.tuples(st.one_of(st.none(), st.integers(-3, 3)),
                                    st.one_of(st.none(), st.sampled_from(["x", "yy", "z"]))))


def _rows_table(rows: list[tuple], ts_ms: np.ndarray) -> pa.Table:
    def col(i: int) -> list[Any]:
        return [r[i] for r in rows]

    structs = [None if r[5] is None else {"a": r[5][0], "b": r[5][1]} for r in rows]
    return pa.table({
        "k": pa.array(col(0), pa.string()), "g": pa.array(col(1), pa.int32()),
        "v": pa.array(col(2), pa.int64()), "p": pa.array(col(3), pa.float64()),
        "s": pa.array(col(4), pa.string()), "r": pa.array(structs, ROW_TYPE),
        "ts": _timestamps(ts_ms),
    }, schema=SCHEMA)


@st.composite
def _small_input(draw: st.DrawFn) -> Input:
    """Element-wise rows (≤ 60): each row drawn on its own, so failures shrink to few rows."""
    rows = draw(st.lists(st.tuples(_KEY, _G, _V, _P, _S, _R), max_size=60))
    steps = draw(st.lists(st.integers(-BOUND_S * 1000, 3000), min_size=len(rows),
                          max_size=len(rows)))
    dup = draw(st.integers(0, min(5, len(rows))))
    rows = rows + rows[:dup]  # exact duplicates (same values; times are drawn below)
    steps = steps + [0] * dup
    ts = make_on_time(np.cumsum(np.maximum(np.asarray(steps, np.int64), 0))
                      + np.minimum(np.asarray(steps, np.int64), 0))
    group = draw(st.integers(1, max(len(rows), 1)))
    return Input(_rows_table(rows, ts), group, batch_size=_batch_size(draw, len(rows)),
                 parallelism=draw(_PARALLELISM))


@st.composite
def _bulk_input(draw: st.DrawFn) -> Input:
    """Up to MAX_ROWS rows generated with numpy from drawn parameters."""
    n = draw(st.integers(0, MAX_ROWS))
    n_keys = draw(st.sampled_from([1, 2, 5, 50, 1000]))
    key_nulls = draw(st.sampled_from([0.0, 0.05, 0.3]))
    value_nulls = draw(st.sampled_from([0.0, 0.1, 0.5]))
    dup_frac = draw(st.sampled_from([0.0, 0.1, 0.4]))
    mean_step = draw(st.sampled_from([0, 5, 100, 1500]))  # ms of event time per row
    disorder = draw(st.sampled_from([0, 1000, BOUND_S * 1000 - 1]))
    seed = draw(st.integers(0, 2**32 - 1))
    group = draw(st.sampled_from([1, 7, 100, 512, MAX_ROWS]))
    rng = np.random.default_rng(seed)

    def nulls(frac: float) -> np.ndarray | None:
        return rng.random(n) < frac if frac else None

    keys = np.array([f"k{i:03d}" for i in range(n_keys)])
    k = pa.array(keys[rng.integers(0, n_keys, n)], mask=nulls(key_nulls))
    g = pa.array(rng.integers(0, 3, n).astype(np.int32), mask=nulls(key_nulls))
    v = pa.array(rng.integers(-20, 100, n), mask=nulls(value_nulls))
    p = pa.array(np.round(rng.normal(50, 300, n), 3), mask=nulls(value_nulls))
    s = pa.array(np.array(WORDS)[rng.integers(0, len(WORDS), n)], mask=nulls(value_nulls))
    r = pa.StructArray.from_arrays(
        [pa.array(rng.integers(-3, 4, n).astype(np.int32), mask=nulls(value_nulls)),
         pa.array(np.array(["x", "yy", "z"])[rng.integers(0, 3, n)])],
        fields=list(ROW_TYPE), mask=_mask(nulls(value_nulls / 2)))
    base = np.cumsum(rng.poisson(mean_step, n)) if mean_step else np.zeros(n, np.int64)
    ts = make_on_time(base - (rng.integers(0, disorder + 1, n) if disorder else 0))
    table = pa.table([k, g, v, p, s, r, _timestamps(ts)], schema=SCHEMA)
    if n and dup_frac:  # duplicated rows, placed right after their original (same time)
        idx = np.sort(np.concatenate([np.arange(n), rng.integers(0, n, int(n * dup_frac))]))
        table = table.take(pa.array(idx)).slice(0, MAX_ROWS)
    return Input(table, group, batch_size=_batch_size(draw, table.num_rows),
                 parallelism=draw(_PARALLELISM))


def _mask(mask: np.ndarray | None) -> pa.Array | None:
    return None if mask is None else pa.array(mask, pa.bool_())


def inputs(small_only: bool = False) -> st.SearchStrategy[Input]:
    """One input table with no late rows (see the module contract)."""
    return _small_input() if small_only else st.one_of(_small_input(), _bulk_input())


def late_input(data: Input, late_at_ms: list[int]) -> Input:
    """``data`` plus one row group of late rows, each a copy of an on-time row with its time
    set to ``late_at_ms[i]`` (offset from BASE_MS), which must lie far behind the watermark
    reached after ``data`` (the caller chooses times whose windows all closed)."""
    n = len(late_at_ms)
    if n == 0 or data.table.num_rows == 0:
        return data
    src = data.table.take(pa.array(np.arange(n) % data.table.num_rows))
    late = src.set_column(src.schema.get_field_index("ts"), "ts",
                          _timestamps(np.asarray(late_at_ms, np.int64)))
    return Input(pa.concat_tables([data.table, late]), data.row_group, late_rows=n,
                 batch_size=data.batch_size, parallelism=data.parallelism)


def max_offset_ms(data: Input) -> int:
    ts = data.table.column("ts").cast(pa.int64()).to_numpy()
    return int(ts.max()) - BASE_MS if len(ts) else 0


# -- writing and declaring ------------------------------------------------------------------
def write_input(data: Input, directory: Path, name: str, fmt: str = "parquet") -> Path:
    """Write the input as one file; for Parquet the late rows get their own row group."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.{fmt}"
    table = data.table
    if fmt == "parquet":
        with pq.ParquetWriter(path, SCHEMA) as writer:
            writer.write_table(data.on_time, row_group_size=max(data.row_group, 1))
            if data.late_rows:
                writer.write_table(table.slice(table.num_rows - data.late_rows))
        return path
    if fmt == "json":
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.register("t", table)
            con.execute(f"COPY (SELECT * FROM t) TO '{path}' (FORMAT json)")
        finally:
            con.close()
        return path
    raise ValueError(f"format {fmt}")


def declare_sql(name: str, path: Path, fmt: str = "parquet", *, computed: bool = True,
                bound_s: int = BOUND_S, extra_options: str = "") -> str:
    cols = COLUMNS + (f", {COMPUTED}" if computed else "")
    return (
        f"CREATE TABLE {name} ({cols}, WATERMARK FOR ts AS ts - INTERVAL '{bound_s}' SECOND) "
        f"WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = '{fmt}'{extra_options})"
    )


# -- running both engines -------------------------------------------------------------------
class Differential:
    """A fresh Session with the input tables declared; runs SQL in both modes."""

    def __init__(self) -> None:
        from flowsql.session import Session

        self.root = Path(tempfile.mkdtemp(prefix="flowsql-diff-"))
        self.session = Session(home=self.root / "home")
        self._configured = False
        self.last_job_id: str | None = None

    def __enter__(self) -> Differential:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.session.close()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def execute(self, sql: str) -> Any:
        return self.session.execute_one(sql)

    def table(self, name: str, data: Input, fmt: str = "parquet", **kw: Any) -> Path:
        """Write and declare ``data`` as table ``name``; the first table's ``batch_size`` and
        ``parallelism`` become the session's streaming settings."""
        path = write_input(data, self.root / "data", name, fmt)
        self.execute(declare_sql(name, path, fmt, **kw))
        if not self._configured:
            self._configured = True
            self.execute(f"SET 'table.exec.mini-batch.size' = '{data.batch_size}'")
            self.execute(f"SET 'parallelism.default' = '{data.parallelism}'")
            self.execute("SET 'execution.embedded.parallelism' = 'threads'")
        return path

    def mode(self, mode: str) -> None:
        self.execute(f"SET 'execution.runtime-mode' = '{mode}'")

    def streaming(self, sql: str) -> pa.Table:
        self.mode("streaming")
        result = self.execute(sql)
        assert result.kind == "table", f"streaming SELECT gave {result.kind}: {result.message}"
        self.last_job_id = result.job_id
        return result.table

    def late_rows_dropped(self) -> int:
        """Late rows the window operators of the last streaming query dropped (job metrics)."""
        from flowsql.session import streaming

        metrics = streaming.cluster().metrics(self.last_job_id)
        return sum(m.late_records_dropped for m in metrics.values())

    def batch(self, sql: str) -> pa.Table:
        self.mode("batch")
        result = self.execute(sql)
        assert result.kind == "table", f"batch SELECT gave {result.kind}: {result.message}"
        return result.table

    def run(self, sql: str) -> tuple[pa.Table, pa.Table]:
        return self.streaming(sql), self.batch(sql)

    def check(self, sql: str) -> pa.Table:
        streamed, batched = self.run(sql)
        assert_same_rows(streamed, batched, context=sql)
        return streamed


# -- comparing ------------------------------------------------------------------------------
def _norm(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, dict):
        return tuple((k, _norm(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_norm(v) for v in value)
    return value


def table_rows(table: pa.Table) -> list[tuple]:
    columns = [[_norm(v) for v in col.to_pylist()] for col in table.columns]
    return list(zip(*columns, strict=True)) if columns else []


def _exact_part(row: tuple) -> tuple:
    """The row with floats blanked: rows are grouped on this, floats compared approximately."""
    return tuple(("f",) if isinstance(v, float) else ("v", repr(v)) for v in row)


def _float_part(row: tuple) -> tuple:
    return tuple(v for v in row if isinstance(v, float))


def _close(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6) for x, y in zip(a, b, strict=True))


def assert_same_rows(got: pa.Table, expected: pa.Table, context: str = "") -> None:
    """``got`` and ``expected`` hold the same multiset of rows (see the module contract)."""
    where = f"\nquery: {context}" if context else ""
    assert got.column_names == expected.column_names, (
        f"columns {got.column_names} != {expected.column_names}{where}")
    g_rows, e_rows = table_rows(got), table_rows(expected)
    groups: dict[tuple, list[list[tuple]]] = defaultdict(lambda: [[], []])
    for row in g_rows:
        groups[_exact_part(row)][0].append(row)
    for row in e_rows:
        groups[_exact_part(row)][1].append(row)
    missing, extra = [], []
    for rows_g, rows_e in groups.values():
        rows_g.sort(key=_float_part)
        rows_e.sort(key=_float_part)
        if len(rows_g) == len(rows_e) and all(
                _close(_float_part(a), _float_part(b)) for a, b in zip(rows_g, rows_e, strict=True)):
            continue
        extra.extend(rows_g)
        missing.extend(rows_e)
    if missing or extra:
        raise AssertionError(
            f"streaming and batch results differ ({len(g_rows)} vs {len(e_rows)} rows){where}\n"
            f"only in streaming (first 10 of {len(extra)}): {extra[:10]}\n"
            f"only in batch (first 10 of {len(missing)}): {missing[:10]}"
        )
