"""High key counts: the id-indexed state paths (key index, slice cells, session slots,
compaction of dead keys) against DuckDB over the same rows."""

from __future__ import annotations

import decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from operators_harness import drive, oracle, rows_of

from flowsql.messages import ROW_KIND, RowKind
from flowsql.operators import group_aggregate, session_window, window_aggregate
from flowsql.operators.group_aggregate import GroupAggregateOperator
from flowsql.operators.session_window import SessionWindowOperator
from flowsql.operators.specs import AggCall, GroupAggregateSpec, WindowAggregateSpec, WindowSpec
from flowsql.operators.window_aggregate import WindowAggregateOperator

AGGS = (
    AggCall("COUNT_STAR", None, "c"),
    AggCall("SUM", "v", "s"),
    AggCall("MIN", "v", "mn"),
    AggCall("MAX", "v", "mx"),
    AggCall("AVG", "v", "a"),
    AggCall("LAST_VALUE", "v", "lv"),
)
ORACLE_AGGS = ("count(*) AS c, sum(v) AS s, min(v) AS mn, max(v) AS mx, avg(v) AS a, "
               "arg_max(v, id) FILTER (WHERE v IS NOT NULL) AS lv")
OUT = ["window_start", "window_end", "c", "s", "mn", "mx", "a", "lv"]
WCOLS = ("window_start", "window_end")


def stream(n_batches: int = 8, rows: int = 6_000, keys: int = 4_000, drift: int = 2_000,
           seed: int = 1) -> list[pa.RecordBatch]:
    """Keys drift upward batch by batch (new keys keep appearing, old ones die out); some
    keys and values are NULL; event time advances with bounded disorder."""
    rng = np.random.default_rng(seed)
    out = []
    for b in range(n_batches):
        k = rng.integers(0, keys, rows) + b * drift
        knull = rng.random(rows) < 0.01
        v = rng.integers(-50, 1000, rows)
        vnull = rng.random(rows) < 0.05
        ts = b * 100 + rng.integers(0, 100, rows) - rng.integers(0, 20, rows)
        out.append(pa.record_batch({
            "k": pa.array(k, mask=knull),
            "v": pa.array(v, mask=vnull),
            "ts": pa.array(ts, pa.timestamp("ms")),
            "id": pa.array(np.arange(b * rows, (b + 1) * rows)),
        }))
    return out


def watermarks(batches, lag: int = 25):
    top, wms = None, []
    for b in batches:
        mx = int(b.column("ts").cast(pa.int64()).to_numpy().max())
        top = mx if top is None else max(top, mx)
        wms.append(top - lag)
    return wms


def floor_to(size: int) -> str:
    return f"CAST(floor(epoch_ms(ts) / {size}) AS BIGINT) * {size}"


def window_sql(kind: str, size: int, slide: int) -> str:
    if kind == "TUMBLE":
        win = f"SELECT *, {floor_to(size)} AS ws FROM t"
    else:
        win = (f"SELECT * EXCLUDE (s), s AS ws FROM (SELECT *, unnest(generate_series("
               f"{floor_to(slide)} - {size}, {floor_to(slide)}, {slide})) AS s FROM t) "
               f"WHERE s <= epoch_ms(ts) AND s + {size} > epoch_ms(ts)")
    return (f"SELECT k, ws AS window_start, ws + {size} AS window_end, {ORACLE_AGGS} "
            f"FROM ({win}) GROUP BY k, ws")


@pytest.mark.parametrize("kind,size,slide", [("TUMBLE", 50, None), ("HOP", 100, 25)])
@pytest.mark.parametrize("snapshot_after", [None, 3])
@pytest.mark.parametrize("slack", [0, 4096])
def test_windows_many_keys_match_duckdb(kind, size, slide, snapshot_after, slack, monkeypatch):
    monkeypatch.setattr(window_aggregate, "_SLACK", slack)  # 0: compact at every eviction
    batches = stream()
    w = WindowSpec(kind, "ts", size_ms=size, slide_ms=slide)
    spec = WindowAggregateSpec(w, ("k",), AGGS, WCOLS)
    out, op = drive(lambda: WindowAggregateOperator(spec), batches, watermarks(batches),
                    snapshot_after=snapshot_after)
    table = pa.Table.from_batches(batches)
    assert op.ctx.metrics.late_records_dropped == 0
    cols = ["k", *OUT]
    assert rows_of(out.table(), cols) == rows_of(oracle(window_sql(kind, size, slide),
                                                        t=table), cols)
    # output order: window_end, then keys (nulls last)
    got = out.table()
    order = got.sort_by([("window_end", "ascending"), ("k", "ascending")])
    assert got.column("k").to_pylist() == order.column("k").to_pylist()
    # dead keys were dropped from the key index (only live slices' keys remain)
    assert op.index.size <= slack


def test_window_key_index_compacts_as_keys_die():
    batches = stream(n_batches=12, rows=4_000, keys=3_000, drift=3_000)
    spec = WindowAggregateSpec(WindowSpec("TUMBLE", "ts", size_ms=100), ("k",),
                               (AggCall("COUNT_STAR", None, "c"),), WCOLS)
    out, op = drive(lambda: WindowAggregateOperator(spec), batches, watermarks(batches, 0))
    assert op.index.size == 0  # every slice evicted: every key id dropped
    late = op.ctx.metrics.late_records_dropped
    assert out.table().column("c").to_numpy().sum() + late == 12 * 4_000


def test_pooled_types_string_keys_decimal_sum_string_min():
    """Decimal sums and string MIN/MAX/LAST live in the Arrow value pool, not numpy."""
    rng = np.random.default_rng(4)
    n = 20_000
    words = np.array([f"w{i:05d}" for i in range(3_000)])
    table = pa.table({
        "k": pa.array(words[rng.integers(0, 3_000, n)], mask=rng.random(n) < 0.01),
        "d": pa.array([decimal.Decimal(int(x)) / 100 for x in rng.integers(0, 10**6, n)],
                      pa.decimal128(12, 2)),
        "w": pa.array(words[rng.integers(0, 3_000, n)], mask=rng.random(n) < 0.1),
        "ts": pa.array(np.arange(n) // 40, pa.timestamp("ms")),
        "id": pa.array(np.arange(n)),
    })
    aggs = (AggCall("SUM", "d", "sd"), AggCall("MIN", "w", "mw"), AggCall("MAX", "w", "xw"),
            AggCall("LAST_VALUE", "w", "lw"))
    sql_aggs = ("sum(d) AS sd, min(w) AS mw, max(w) AS xw, "
                "arg_max(w, id) FILTER (WHERE w IS NOT NULL) AS lw")
    batches = table.to_batches(max_chunksize=2_500)
    spec = WindowAggregateSpec(WindowSpec("TUMBLE", "ts", size_ms=200), ("k",), aggs, WCOLS)
    out, _ = drive(lambda: WindowAggregateOperator(spec), batches, watermarks(batches, 0))
    cols = ["k", "window_start", "sd", "mw", "xw", "lw"]
    expected = oracle(f"SELECT k, {floor_to(200)} AS window_start, {sql_aggs} "
                      "FROM t GROUP BY k, window_start", t=table)
    assert rows_of(out.table(), cols) == rows_of(expected, cols)
    g = GroupAggregateOperator(GroupAggregateSpec(("k",), aggs))
    gout, _ = drive(lambda: g, batches, [None] * len(batches))
    final = {}
    for b in gout.batches:
        for row in b.to_pylist():
            if row[ROW_KIND] in (RowKind.INSERT, RowKind.UPDATE_AFTER):
                final[row["k"]] = (row["sd"], row["mw"], row["xw"], row["lw"])
    exp = oracle(f"SELECT k, {sql_aggs} FROM t GROUP BY k", t=table).to_pylist()
    assert final == {r["k"]: (r["sd"], r["mw"], r["xw"], r["lw"]) for r in exp}


@pytest.mark.parametrize("slack", [0, 4096])
def test_group_by_many_keys_retract_and_compact(slack, monkeypatch):
    """20K groups appear, all disappear (-D), a third come back: the changelog stays exact
    and emptied groups leave the key index."""
    monkeypatch.setattr(group_aggregate, "_SLACK", slack)
    n = 20_000
    keys = np.arange(n)
    ins = pa.table({"k": keys, "v": keys % 7, ROW_KIND: pa.array(np.zeros(n, np.int8))})
    dele = ins.set_column(2, ROW_KIND, pa.array(np.full(n, 3, np.int8)))
    back = ins.slice(0, n // 3)
    spec = GroupAggregateSpec(("k",), (AggCall("SUM", "v", "s"), AggCall("COUNT_STAR", None, "c"),
                                       AggCall("COUNT", "v", "cd", distinct=True)))
    op = GroupAggregateOperator(spec)
    batches = [*ins.to_batches(4_096), *dele.to_batches(4_096), *back.to_batches(4_096)]
    out, op = drive(lambda: op, batches, [None] * len(batches))
    view: dict = {}
    for b in out.batches:
        for row in b.to_pylist():
            kind = row.pop(ROW_KIND)
            if kind in (RowKind.INSERT, RowKind.UPDATE_AFTER):
                assert row["k"] not in view
                view[row["k"]] = row
            else:
                assert view.pop(row["k"]) == row
    assert sorted(view) == list(range(n // 3))
    assert all(r["s"] == r["k"] % 7 and r["c"] == 1 and r["cd"] == 1 for r in view.values())
    assert op.num_groups() == n // 3
    assert op.index.size < n  # dead ids were compacted away
    snap = op.snapshot(1)
    assert snap["groups"].num_rows == n // 3


def session_sql(gap: int, aggs: str) -> str:
    """DuckDB oracle: sessions per k (a gap above ``gap`` ms starts a new one), with ``aggs``."""
    return f"""
    WITH t2 AS (SELECT *, epoch_ms(ts) AS e FROM t),
    m AS (SELECT *, CASE WHEN e - lag(e) OVER (PARTITION BY k ORDER BY e) > {gap}
                         THEN 1 ELSE 0 END AS brk FROM t2),
    s AS (SELECT *, sum(brk) OVER (PARTITION BY k ORDER BY e RANGE UNBOUNDED PRECEDING) AS sid
          FROM m)
    SELECT k, min(e) AS window_start, max(e) + {gap} AS window_end, {aggs}
    FROM s GROUP BY k, sid"""


@pytest.mark.parametrize("slack", [0, 4096])
def test_session_many_keys_match_duckdb(slack, monkeypatch):
    monkeypatch.setattr(session_window, "_SLACK", slack)
    batches = stream(n_batches=8, rows=5_000, keys=3_000, drift=1_500, seed=9)
    gap = 30
    aggs = (AggCall("COUNT_STAR", None, "c"), AggCall("SUM", "v", "s"),
            AggCall("MAX", "v", "mx"))
    spec = WindowAggregateSpec(WindowSpec("SESSION", "ts", gap_ms=gap), ("k",), aggs, WCOLS)
    out, op = drive(lambda: SessionWindowOperator(spec), batches, watermarks(batches, 40),
                    snapshot_after=4)
    assert op.ctx.metrics.late_records_dropped == 0
    table = pa.Table.from_batches(batches)
    sql = session_sql(gap, "count(*) AS c, sum(v) AS s, max(v) AS mx")
    cols = ["k", "window_start", "window_end", "c", "s", "mx"]
    assert rows_of(out.table(), cols) == rows_of(oracle(sql, t=table), cols)
    assert op.n_live == 0


@pytest.mark.parametrize("ktype", [pa.int64(), pa.int16(), pa.string()])
def test_session_fires_in_end_then_key_order(ktype):
    """Fired sessions go out by window_end, then key: for one integer key without NULLs
    through one argsort of a combined (end, key) code, else through a multi-key sort."""
    batches = [b.set_column(0, "k", pc.cast(pc.fill_null(b.column("k"), 7), ktype))
               for b in stream(n_batches=8, rows=4_000, keys=2_000, drift=1_000, seed=3)]
    gap = 25
    aggs = (AggCall("COUNT_STAR", None, "c"), AggCall("SUM", "v", "s"))
    spec = WindowAggregateSpec(WindowSpec("SESSION", "ts", gap_ms=gap), ("k",), aggs, WCOLS)
    out, _ = drive(lambda: SessionWindowOperator(spec), batches, watermarks(batches, 40))
    for b in out.batches:
        ends = b.column("window_end").cast(pa.int64()).to_pylist()
        keys = b.column("k").to_pylist()
        assert list(zip(ends, keys, strict=True)) == sorted(zip(ends, keys, strict=True))
    table = pa.Table.from_batches(batches)
    sql = session_sql(gap, "count(*) AS c, sum(v) AS s")
    cols = ["k", "window_start", "window_end", "c", "s"]
    assert rows_of(out.table(), cols) == rows_of(oracle(sql, t=table), cols)


@pytest.mark.parametrize("dense_slack", [1 << 16, -(1 << 30)], ids=["grid", "sort"])
def test_numpy_window_merge_matches_the_group_by_merge(dense_slack, monkeypatch):
    """slice_state.merge_windows (numpy) agrees with Accumulators.merge on NULLs, NaN, bools,
    both by scattering into a (window, key id) grid and by sorting the cells."""
    import numpy as np

    from flowsql.operators import slice_state
    from flowsql.operators.accumulators import Accumulators
    from flowsql.operators.slice_state import KID, SliceCells, merge_windows
    from flowsql.operators.specs import AggCall

    aggs = (AggCall("SUM", "x", "s"), AggCall("MIN", "x", "lo"), AggCall("MAX", "x", "hi"),
            AggCall("MIN", "b", "blo"), AggCall("MAX", "b", "bhi"), AggCall("AVG", "i", "a"),
            AggCall("MAX", "i", "ihi"))
    accs = Accumulators(aggs)
    rng = np.random.default_rng(5)
    slices = []
    for _ in range(4):
        n = 40
        x = rng.normal(size=n)
        x[rng.random(n) < 0.1] = np.nan
        raw = pa.table({
            "k": pa.array(rng.integers(0, 12, n)),
            "x": pa.array(x, mask=rng.random(n) < 0.2),
            "b": pa.array(rng.random(n) < 0.5, mask=rng.random(n) < 0.2),
            "i": pa.array(rng.integers(-5, 5, n), mask=rng.random(n) < 0.3),
        })
        part = accs.partial(raw, ["k"])
        cells = SliceCells(accs, ["k"])
        cells.merge(part.column("k").to_numpy(), part)
        slices.append(cells)
    monkeypatch.setattr(slice_state, "_DENSE_SLACK", dense_slack)
    pair_slice = np.array([0, 1, 2, 1, 2, 3])
    wends = np.array([10, 10, 10, 20, 20, 20])
    ends, kids, state = merge_windows(slices, pair_slice, wends)
    tables = []
    for p, w in zip(pair_slice.tolist(), wends.tolist(), strict=True):
        t = slices[p].table()
        tables.append(t.append_column("$w", pa.array(np.full(t.num_rows, w))))
    want = accs.merge(tables, ["$w", KID]).sort_by([("$w", "ascending"), (KID, "ascending")])
    assert ends.tolist() == want.column("$w").to_pylist()
    assert kids.tolist() == want.column(KID).to_pylist()
    for name in state.column_names:
        got, exp = state.column(name).to_pylist(), want.column(name).to_pylist()
        assert [None if v != v else v for v in got] == [None if v != v else v for v in exp] or (
            np.allclose(np.array(got, dtype=float), np.array(exp, dtype=float), equal_nan=True)
        ), name


@pytest.mark.parametrize("kind,size,slide", [("TUMBLE", 50, None), ("HOP", 100, 25)])
def test_a_watermark_closing_many_windows_fires_in_bounded_steps(kind, size, slide, monkeypatch):
    """With a step bound of 300 cells, the watermarks that close several windows (and the
    final one, which closes all) fire in several steps: same rows, same order."""
    monkeypatch.setattr(window_aggregate, "_FIRE_CELLS", 300)
    batches = stream(n_batches=6, rows=3_000, keys=1_000, drift=500)
    w = WindowSpec(kind, "ts", size_ms=size, slide_ms=slide)
    spec = WindowAggregateSpec(w, ("k",), AGGS, WCOLS)
    wms = watermarks(batches)
    wms[2] = wms[1]  # the next advance closes more windows at once
    out, _ = drive(lambda: WindowAggregateOperator(spec), batches, wms)
    cols = ["k", *OUT]
    table = pa.Table.from_batches(batches)
    assert rows_of(out.table(), cols) == rows_of(oracle(window_sql(kind, size, slide), t=table),
                                                 cols)
    got = out.table()
    order = got.sort_by([("window_end", "ascending"), ("k", "ascending")])
    assert got.column("k").to_pylist() == order.column("k").to_pylist()
    assert got.column("window_end").to_pylist() == order.column("window_end").to_pylist()
