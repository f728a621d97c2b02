"""Two-phase window aggregation: local partials → hash split → global merge gives the
one-phase result, also when the exchange coalesces several partial batches into one.

The TaskManagers' Flight channels send consecutive small batches of one producer as ONE
concatenated batch (``RUNTIME_COALESCE_ROWS``), so a global subtask can receive several
partial rows of one (key, slice) in a single batch. Folding such a batch into the slice
cells without merging it first gave one window two cells of one key (two output rows, each
with part of the count) or lost updates — the intermittent wrong output of the cluster's
kill -9 recovery test of a windowed query.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from operators_harness import bounded_watermarks, rows_of, split, streams
from test_window_aggregate import AGGS, OUT, WINDOWS, window_oracle

from flowsql.messages import MAX_WATERMARK, Watermark
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.local_window_aggregate import (
    GlobalWindowAggregateOperator,
    LocalWindowAggregateOperator,
    two_phase_possible,
)
from flowsql.operators.specs import AggCall, WindowAggregateSpec, WindowSpec
from flowsql.runtime.partitioning import route, split_by_target
from tests.examples import examples

MERGEABLE = tuple(a for a in AGGS if two_phase_possible(WindowAggregateSpec(
    WINDOWS["tumble"], ("k",), (a,), ())))
WINDOW_COLUMNS = ("window_start", "window_end", "window_time")


def run_two_phase(spec: WindowAggregateSpec, schema: pa.Schema, batches: list[pa.RecordBatch],
                  watermarks: list[int | None], coalesce: bool,
                  snapshot_after: int | None = None) -> tuple[ListCollector, list]:
    """Batches alternate between two local subtasks; partials go to two global subtasks by
    key hash. ``coalesce``: pairs of consecutive batches go to one local, whose partials of
    both travel as one batch (as a Flight channel's coalescing sends them). A watermark goes
    to both globals once every batch it covers was shipped. ``snapshot_after=i``: after
    batch ``i`` both globals are snapshotted and replaced by restored ones."""
    locals_ = [LocalWindowAggregateOperator(spec, schema) for _ in range(2)]

    def new_global(i: int) -> GlobalWindowAggregateOperator:
        g = GlobalWindowAggregateOperator(spec, schema)
        g.open(OperatorContext("agg", subtask_index=i, parallelism=2))
        return g

    globals_ = [new_global(i) for i in range(2)]
    out = ListCollector()
    held: list[pa.RecordBatch] = []
    shipped_wm: int | None = None

    def ship(parts: list[pa.RecordBatch]) -> None:
        if not parts:
            return
        batch = pa.Table.from_batches(parts).combine_chunks().to_batches()[0]
        targets = route(batch, list(spec.keys), 2)
        for g, part in zip(globals_, split_by_target(batch, targets, 2), strict=True):
            if part is not None and part.num_rows:
                g.process_batch(part, out)

    for i, (b, wm) in enumerate(zip(batches, watermarks, strict=True)):
        part = ListCollector()
        locals_[(i // 2 if coalesce else i) % 2].process_batch(b, part)
        held += part.batches
        if not coalesce or i % 2 or i == len(batches) - 1:
            ship(held)
            held = []
            shipped_wm = wm if wm is not None else shipped_wm
            if shipped_wm is not None:
                for g in globals_:
                    g.on_watermark(Watermark(shipped_wm), out)
        if snapshot_after == i:
            snaps = [g.snapshot(3) for g in globals_]
            metrics = [g.ctx.metrics for g in globals_]
            globals_ = [new_global(j) for j in range(2)]
            for g, s, m in zip(globals_, snaps, metrics, strict=True):
                g.ctx.metrics = m
                g.restore(s)
    for g in globals_:
        g.on_watermark(Watermark(MAX_WATERMARK), out)
        g.close(out)
    return out, globals_


@pytest.mark.parametrize("name", sorted(WINDOWS))
@pytest.mark.parametrize("keys", [("k",), ("k", "k2")])
@pytest.mark.parametrize("coalesce", [False, True])
@settings(max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=streams(), at=st.one_of(st.none(), st.integers(0, 8)))
def test_two_phase_matches_duckdb(name, keys, coalesce, data, at):
    table, bound, cuts = data
    w = WINDOWS[name]
    spec = WindowAggregateSpec(w, keys, MERGEABLE, WINDOW_COLUMNS)
    batches = split(table, cuts)
    out, globals_ = run_two_phase(spec, table.schema, batches,
                                  bounded_watermarks(batches, bound), coalesce, at)
    assert sum(g.ctx.metrics.late_records_dropped for g in globals_) == 0
    cols = [*keys, *WINDOW_COLUMNS, *(a.output for a in MERGEABLE)]
    got = rows_of(out.table(), cols) if out.batches else []
    expected = rows_of(window_oracle(w, table, keys), [*keys, *OUT])
    keep = list(range(len(keys) + 3)) + [OUT.index(a.output) + len(keys) for a in MERGEABLE]
    assert got == [tuple(r[i] for i in keep) for r in expected]


# -- the cluster failure, step by step ----------------------------------------------------

SPEC = WindowAggregateSpec(WindowSpec("TUMBLE", "ts", size_ms=1000), ("k",),
                           (AggCall("COUNT_STAR", None, "n"), AggCall("SUM", "id", "total")),
                           ("window_start",))
SCHEMA = pa.schema([("k", pa.int64()), ("id", pa.int64()), ("ts", pa.timestamp("ms"))])


def _rows(lo: int, hi: int) -> pa.RecordBatch:
    """Ids ``lo .. hi - 1`` (event time = id ms), key ``id % 7``: the recovery test's rows."""
    ids = list(range(lo, hi))
    return pa.record_batch([pa.array([i % 7 for i in ids], pa.int64()),
                            pa.array(ids, pa.int64()), pa.array(ids, pa.timestamp("ms"))],
                           schema=SCHEMA)


def _partials(*ranges: tuple[int, int]) -> pa.RecordBatch:
    """The partials one local subtask emits for these source batches, concatenated into one
    batch as a coalescing Flight channel sends them (each key twice in the batch)."""
    local = LocalWindowAggregateOperator(SPEC, SCHEMA)
    out = ListCollector()
    for lo, hi in ranges:
        local.process_batch(_rows(lo, hi), out)
    return pa.concat_batches(out.batches)


@pytest.mark.parametrize("when", ["fired", "snapshot", "slice known"])
def test_one_batch_with_several_partials_of_a_key_and_slice_fires_one_row_per_key(when):
    """``fired``: the coalesced batch is folded at the watermark that fires its window (it
    was the only pending partial table); ``snapshot``: it is folded by a checkpoint's
    snapshot, and the window fires after restore; ``slice known``: the slice already holds
    every key (an earlier batch was folded by a snapshot) when the coalesced batch is folded.
    Each window must fire one row per key with the count and sum of all its rows."""
    g = GlobalWindowAggregateOperator(SPEC, SCHEMA)
    g.open(OperatorContext("agg"))
    out = ListCollector()
    if when == "slice known":
        g.process_batch(_partials((0, 100)), out)
        g.snapshot(1)  # folds the pending partials into the slice cells
        g.process_batch(_partials((100, 400), (400, 1000)), out)
    else:
        g.process_batch(_partials((0, 400), (400, 1000)), out)
    if when == "snapshot":
        state = g.snapshot(1)
        g = GlobalWindowAggregateOperator(SPEC, SCHEMA)
        g.open(OperatorContext("agg"))
        g.restore(state)
    g.on_watermark(Watermark(999), out)
    got = [(r["k"], r["n"], r["total"]) for r in out.table().to_pylist()]
    expected = [(k, len(ids), sum(ids)) for k in range(7)
                for ids in [[i for i in range(1000) if i % 7 == k]]]
    assert got == expected
