"""The temporal join operator on its own: probe rows wait for the watermark and join the
version valid at their time (a -D ends it, -U is ignored, equal times: the last to arrive),
versions older than the newest one at or below the watermark leave the state, snapshot and
restore into a fresh operator half-way give the same output as one uninterrupted run."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from flowsql.messages import MAX_WATERMARK, ROW_KIND, RowKind, Watermark
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.temporal_join import TemporalJoinOperator, TemporalJoinSpec
from tests.examples import examples

TS = pa.timestamp("ms")
L = pa.schema([("k", pa.int64()), ("t", TS), ("v", pa.string())])
R = pa.schema([("k0", pa.int64()), ("t0", TS), ("w", pa.string())])
OUT = pa.schema(list(L) + list(R))


def op(join_type: str = "INNER") -> TemporalJoinOperator:
    o = TemporalJoinOperator(TemporalJoinSpec(join_type, ("k",), ("k0",), "t", "t0"), L, R, OUT)
    o.open(OperatorContext("temporal-join"))
    return o


def batch(schema: pa.Schema, rows: list[tuple], kinds: list[int] | None = None) -> pa.RecordBatch:
    arrays = [pa.array([r[i] for r in rows], f.type) for i, f in enumerate(schema)]
    names = list(schema.names)
    if kinds is not None:
        arrays.append(pa.array(kinds, pa.int8()))
        names.append(ROW_KIND)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def pairs(out: ListCollector) -> list[tuple]:
    rows = out.table().to_pylist() if out.batches else []
    return sorted(((r["v"], r["w"]) for r in rows), key=repr)


def test_probe_rows_wait_for_the_watermark_and_join_the_version_at_their_time():
    o, out = op("LEFT"), ListCollector()
    o.process_batch(batch(R, [(1, 0, "v0"), (1, 10, "v10"), (2, 5, "x5")]), out, 1)
    o.process_batch(batch(L, [(1, 9, "a"), (1, 10, "b"), (2, 4, "c"), (None, 3, "n"), (3, 20, "z")]), out, 0)
    assert not out.batches
    assert o.on_watermark(Watermark(9), out) == Watermark(9)
    assert pairs(out) == [("a", "v0"), ("c", None), ("n", None)]
    out.batches.clear()
    o.on_watermark(Watermark(MAX_WATERMARK), out)
    assert pairs(out) == [("b", "v10"), ("z", None)]


def test_deletes_end_a_version_and_update_befores_are_ignored():
    o, out = op(), ListCollector()
    o.process_batch(batch(R, [(1, 0, "v0"), (1, 0, "v0"), (1, 5, "v5"), (1, 8, "v5"), (1, 8, "v8")],
                          [RowKind.INSERT, RowKind.UPDATE_BEFORE, RowKind.UPDATE_AFTER,
                           RowKind.DELETE, RowKind.INSERT]), out, 1)
    o.process_batch(batch(L, [(1, 1, "a"), (1, 6, "b"), (1, 9, "c")]), out, 0)
    o.on_watermark(Watermark(MAX_WATERMARK), out)
    # at 8 a -D then a +I at the same time: the last to arrive wins
    assert pairs(out) == [("a", "v0"), ("b", "v5"), ("c", "v8")]


def test_old_versions_leave_the_state_and_late_probes_join_at_once():
    o, out = op(), ListCollector()
    o.process_batch(batch(R, [(1, 0, "v0"), (1, 5, "v5"), (1, 12, "v12"), (2, 1, "x1")]), out, 1)
    o.process_batch(batch(R, [(2, 3, "x3")], [RowKind.DELETE]), out, 1)
    o.on_watermark(Watermark(10), out)
    # key 1 keeps v5 (the newest at or below 10) and v12; key 2's newest is a deletion: gone
    assert sorted(o.versions.rows().column("w").to_pylist()) == ["v12", "v5"]
    o.process_batch(batch(L, [(1, 7, "late")]), out, 0)
    assert pairs(out) == [("late", "v5")]


EVENTS = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 3), st.integers(0, 30),
                            st.sampled_from([RowKind.INSERT, RowKind.UPDATE_AFTER, RowKind.DELETE])),
                  max_size=40)


def _run(events: list[tuple], cut: int | None) -> list[tuple]:
    """Feed the events (side, key, time, kind) in order with a watermark 3 behind the
    greatest time so far; with ``cut``, snapshot there and go on with a restored operator."""
    o, out = op("LEFT"), ListCollector()
    top = 0
    for i, (side, key, t, kind) in enumerate(events):
        if i == cut:
            state = o.snapshot(1)
            o = op("LEFT")
            o.restore({k: pa.Table.from_batches(v.to_batches(), v.schema) for k, v in state.items()})
        top = max(top, t)
        if side == 0:
            o.process_batch(batch(L, [(key, t, f"p{i}")]), out, 0)
        else:
            o.process_batch(batch(R, [(key, t, f"v{i}")], [int(kind)]), out, 1)
        o.on_watermark(Watermark(top - 3), out)
    o.on_watermark(Watermark(MAX_WATERMARK), out)
    return pairs(out)


@settings(max_examples=examples(60), deadline=None)
@given(events=EVENTS, cut=st.integers(0, 40))
def test_snapshot_and_restore_half_way_change_nothing(events, cut):
    assert _run(events, cut) == _run(events, None)


def test_snapshot_keeps_probe_rows_with_null_keys():
    o, out = op("LEFT"), ListCollector()
    o.process_batch(batch(L, [(None, 5, "n"), (1, 5, "a")]), out, 0)
    state = o.snapshot(1)
    assert state["probe"].column("$k0").to_pylist() == [None, 1]
    fresh = op("LEFT")
    fresh.restore(state)
    fresh.process_batch(batch(R, [(1, 0, "v0")]), out, 1)
    fresh.on_watermark(Watermark(MAX_WATERMARK), out)
    assert pairs(out) == [("a", "v0"), ("n", None)]


def test_latest_only_takes_no_version_older_than_its_keys_newest():
    """A versioned view's rows: what a deduplication keeping the last row would emit."""
    o = TemporalJoinOperator(TemporalJoinSpec("LEFT", ("k",), ("k0",), "t", "t0", latest_only=True),
                             L, R, OUT)
    o.open(OperatorContext("temporal-join"))
    out = ListCollector()
    o.process_batch(batch(R, [(1, 5, "v5"), (1, 3, "old"), (1, 5, "v5b"), (2, 1, "x1")]), out, 1)
    o.on_watermark(Watermark(6), out)
    o.process_batch(batch(R, [(1, 4, "older"), (1, 9, "v9")]), out, 1)
    o.process_batch(batch(L, [(1, 4, "a"), (1, 7, "b"), (1, 9, "c"), (2, 8, "d")]), out, 0)
    o.on_watermark(Watermark(MAX_WATERMARK), out)
    # 'old' and 'older' arrived after a newer row of key 1; at time 5 the last arrival wins
    assert pairs(out) == [("a", None), ("b", "v5b"), ("c", "v9"), ("d", "x1")]


def test_snapshot_splits_by_key_group():
    """Restored at parallelism 2, each subtask takes the probe rows and versions of its key
    groups and together they give the same output as the one operator."""
    from flowsql.state.keygroups import key_group_range, key_groups

    o, out = op("LEFT"), ListCollector()
    o.process_batch(batch(R, [(k, 0, f"v{k}") for k in range(0, 40, 2)]), out, 1)
    o.process_batch(batch(L, [(k, 10, f"p{k}") for k in range(40)] + [(None, 10, "n")]), out, 0)
    snap = o.snapshot(1)
    merged = ListCollector()
    for sub in range(2):
        start, end = key_group_range(sub, 2, 128)
        part = {"meta": snap["meta"]}
        for name in ("probe", "versions"):
            groups = key_groups(snap[name], ["$k0"], 128)
            part[name] = snap[name].filter(pa.array((groups >= start) & (groups < end)))
        fresh = op("LEFT")
        fresh.restore(part)
        fresh.on_watermark(Watermark(MAX_WATERMARK), merged)
    o.on_watermark(Watermark(MAX_WATERMARK), out)
    assert pairs(merged) == pairs(out) and len(pairs(out)) == 41
