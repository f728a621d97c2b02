"""The interval join operator on its own: random streams (out of order within the watermark
bound, NULL keys and times, duplicates) vs a DuckDB oracle for every join type, with a
snapshot/restore into a fresh operator half-way; outer rows wait for the watermark; emitted
rows are never behind a forwarded watermark; key-group split of the state."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowsql.messages import MAX_WATERMARK, Watermark
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.interval_join import IntervalJoinOperator, IntervalJoinSpec
from flowsql.state.keygroups import key_group_range, key_groups
from tests.examples import examples

TS = pa.timestamp("ms")
L = pa.schema([("k", pa.int64()), ("t", TS), ("v", pa.string())])
R = pa.schema([("k0", pa.int64()), ("t0", TS), ("w", pa.string())])
OUT = pa.schema(list(L) + list(R))
SQL_JOIN = {"INNER": "JOIN", "LEFT": "LEFT JOIN", "RIGHT": "RIGHT JOIN", "FULL": "FULL JOIN"}


def op(join_type: str = "INNER", lower: int = -3, upper: int = 2, keys: bool = True) -> IntervalJoinOperator:
    spec = IntervalJoinSpec(join_type, ("k",) if keys else (), ("k0",) if keys else (), "t", "t0",
                            lower, upper)
    o = IntervalJoinOperator(spec, L, R, OUT)
    o.open(OperatorContext("interval-join"))
    return o


def batch(schema: pa.Schema, rows: list[tuple]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([r[i] for r in rows], f.type) for i, f in enumerate(schema)],
                                      names=schema.names)


def rows_of(out: ListCollector) -> list[tuple]:
    return sorted((tuple(r.values()) for r in out.table().to_pylist()), key=repr) if out.batches else []


def test_outer_rows_wait_for_the_watermark_and_pairs_go_at_once():
    o, out = op("FULL"), ListCollector()
    o.process_batch(batch(L, [(1, 10, "a"), (2, 10, "b"), (None, 10, "n")]), out, 0)
    assert [r[2] for r in rows_of(out)] == ["n"]  # a NULL key never matches: padded at once
    out.batches.clear()
    o.process_batch(batch(R, [(1, 12, "x"), (1, 14, "y")]), out, 1)  # t0=12 in [7, 12]; 14 not
    assert [(r[2], r[5]) for r in rows_of(out)] == [("a", "x")]
    out.batches.clear()
    # left rows stay until t - lower <= wm (10 + 3 = 13); right rows until t0 + upper <= wm
    assert o.on_watermark(Watermark(12), out) == Watermark(9)
    assert not out.batches
    o.on_watermark(Watermark(13), out)
    assert [(r[2], r[5]) for r in rows_of(out)] == [("b", None)]  # 'a' matched: not padded
    out.batches.clear()
    o.on_watermark(Watermark(16), out)
    assert [(r[2], r[5]) for r in rows_of(out)] == [(None, "y")]
    assert len(o.sides[0]) == 0 and len(o.sides[1]) == 0
    assert o.on_watermark(Watermark(MAX_WATERMARK), out) == Watermark(MAX_WATERMARK)


# -- random streams vs DuckDB --------------------------------------------------------------
BOUND = 4


@st.composite
def streams(draw):
    """Interleaved (side, rows) batches with times out of order by less than BOUND."""
    n = draw(st.integers(1, 60))
    keys = st.sampled_from([1, 2, 3, None])
    events, high = [], 0
    for i in range(n):
        side = draw(st.integers(0, 1))
        high += draw(st.integers(0, 3))
        t = high - draw(st.integers(0, BOUND - 1))
        if draw(st.integers(0, 19)) == 0:
            t = None  # a NULL time never matches
        events.append((side, (draw(keys), t, f"{'lr'[side]}{i % 7}")))
    cuts = sorted(draw(st.sets(st.integers(1, max(n - 1, 1)), max_size=12)))
    return events, cuts


def _run(o: IntervalJoinOperator, events, cuts, restore_at: int | None):
    """Feed the events in batches (one side per batch), a watermark after each batch;
    returns the output rows and checks that none is behind a forwarded watermark."""
    out, forwarded, high = ListCollector(), None, None
    bounds = [0, *cuts, len(events)]
    for b, (start, stop) in enumerate(zip(bounds, bounds[1:], strict=False)):
        if b == restore_at:
            fresh = IntervalJoinOperator(o.spec, L, R, OUT)
            fresh.open(OperatorContext("interval-join"))
            fresh.restore(o.snapshot(1))
            o = fresh
        for side in (0, 1):
            rows = [r for s, r in events[start:stop] if s == side]
            if rows:
                before = len(out.batches)
                o.process_batch(batch((L, R)[side], rows), out, side)
                _not_late(out.batches[before:], forwarded)
        times = [r[1] for _, r in events[:stop] if r[1] is not None]
        if times:
            high = max(times)
            before = len(out.batches)
            fw = o.on_watermark(Watermark(high - BOUND), out)
            _not_late(out.batches[before:], forwarded)
            forwarded = fw.timestamp if fw is not None else forwarded
    o.on_watermark(Watermark(MAX_WATERMARK), out)
    return out


def _not_late(batches, forwarded):
    if forwarded is None:
        return
    for b in batches:
        for name in ("t", "t0"):
            ms = b.column(name).cast(pa.int64()).to_numpy(zero_copy_only=False)
            valid = b.column(name).is_valid().to_numpy(zero_copy_only=False)
            assert (ms[valid] > forwarded).all(), (name, forwarded)


def _oracle(events, join_type, lower, upper, keys=True):
    left = pa.Table.from_batches([batch(L, [r for s, r in events if s == 0] or [(None, None, None)])])
    right = pa.Table.from_batches([batch(R, [r for s, r in events if s == 1] or [(None, None, None)])])
    con = duckdb.connect()
    con.register("l", left.filter(pc_valid(left)))
    con.register("r", right.filter(pc_valid(right)))
    eq = "l.k = r.k0 AND " if keys else ""
    q = (f"SELECT l.*, r.* FROM l {SQL_JOIN[join_type]} r ON {eq}"
         f"l.t BETWEEN r.t0 + INTERVAL '{lower} milliseconds' AND r.t0 + INTERVAL '{upper} milliseconds'")
    got = con.execute(q).fetchall()
    con.close()
    return sorted(got, key=repr)


def pc_valid(t: pa.Table) -> pa.Array:
    """Drop the placeholder row of an empty side (every column NULL)."""
    import pyarrow.compute as pc

    return pc.or_(pc.is_valid(t.column(2)), pc.is_valid(t.column(1)))


@pytest.mark.parametrize("join_type", ["INNER", "LEFT", "RIGHT", "FULL"])
@settings(max_examples=examples(40), deadline=None)
@given(data=streams(), lower=st.integers(-6, 2), width=st.integers(0, 6),
       restore=st.one_of(st.none(), st.integers(0, 12)), keys=st.booleans())
def test_random_streams_match_duckdb(join_type, data, lower, width, restore, keys):
    events, cuts = data
    upper = lower + width
    got = rows_of(_run(op(join_type, lower, upper, keys), events, cuts, restore))
    assert got == _oracle(events, join_type, lower, upper, keys)


def test_snapshot_splits_by_key_group():
    o, out = op("LEFT"), ListCollector()
    o.process_batch(batch(L, [(k, 100, f"v{k}") for k in range(40)]), out, 0)
    snap = o.snapshot(1)
    assert snap["left"].num_rows == 40 and "$k0" in snap["left"].column_names
    total = 0
    for sub in range(2):
        start, end = key_group_range(sub, 2, 128)
        groups = key_groups(snap["left"], ["$k0"], 128)
        part = {"left": snap["left"].filter(pa.array((groups >= start) & (groups < end))),
                "meta": snap["meta"]}
        fresh = op("LEFT")
        fresh.restore(part)
        res = ListCollector()
        fresh.on_watermark(Watermark(MAX_WATERMARK), res)
        total += res.table().num_rows if res.batches else 0
    assert total == 40


def test_probe_uses_time_ranks_without_overflow():
    o, out = op("INNER", -1, 1), ListCollector()
    far = np.int64(2**62)
    o.process_batch(pa.record_batch([pa.array([1, 1], pa.int64()), pa.array([0, int(far)], TS),
                                     pa.array(["a", "b"])], schema=L), out, 0)
    o.process_batch(pa.record_batch([pa.array([1], pa.int64()), pa.array([int(far) + 1], TS),
                                     pa.array(["x"])], schema=R), out, 1)
    t = out.table()
    assert list(zip(t.column("v").to_pylist(), t.column("w").to_pylist(), strict=True)) == [("b", "x")]
