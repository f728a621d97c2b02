"""The OVER aggregate over an updating input on its own: after every batch of a random
changelog (inserts, retractions, identical rows, NULL partition keys and sort keys) the
operator's output changelog, applied, equals a plain Python OVER over the live rows; every
retraction it emits matches a row it emitted before; snapshot/restore (also split by key
group over two subtasks) continues like the uninterrupted operator."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from operators_harness import route, split_state

from flowsql.messages import ROW_KIND, RowKind
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.over_updating import UpdatingOverOperator, UpdatingOverSpec
from tests.examples import examples

S = pa.schema([("k", pa.string()), ("o", pa.int64()), ("v", pa.int64())])
CALLS = (("COUNT_STAR", None, "n"), ("COUNT", "v", "c"), ("SUM", "v", "s"), ("AVG", "v", "a"),
         ("MIN", "v", "mn"), ("MAX", "v", "mx"))
OUT = pa.schema(list(S) + [pa.field("n", pa.int64()), pa.field("c", pa.int64()),
                           pa.field("s", pa.int64()), pa.field("a", pa.float64()),
                           pa.field("mn", pa.int64()), pa.field("mx", pa.int64())])


def op(preceding: int | None, desc: bool = False, nulls_first: bool = True,
       rows: bool = True) -> UpdatingOverOperator:
    spec = UpdatingOverSpec(("k",), (("o", desc, nulls_first),), preceding, CALLS, rows)
    o = UpdatingOverOperator(spec, S, OUT)
    o.open(OperatorContext("over"))
    return o


def value(o: int | None) -> int | None:
    """``v`` is a function of ``o``: rows tied on (k, o) are identical, so no order is ambiguous."""
    if o is None:
        return 4
    return None if o % 5 == 0 else (o * 7) % 11 - 3


def oracle(live: Counter, preceding: int | None, desc: bool, nulls_first: bool, rows: bool) -> Counter:
    """ROWS: the row and ``preceding`` rows before it; RANGE UNBOUNDED: every row up to the
    row's last peer (equal ``o``); RANGE p: the rows whose ``o`` is within p of the row's
    (before it in the order), or for a NULL ``o`` the NULL rows."""
    out: Counter = Counter()
    for k in {r[0] for r in live}:
        mine = [r for r in sorted(live.elements(), key=repr) if r[0] == k]
        present = sorted((r for r in mine if r[1] is not None), key=lambda r: r[1], reverse=desc)
        nulls = [r for r in mine if r[1] is None]
        part = nulls + present if nulls_first else present + nulls
        for i, r in enumerate(part):
            end = i + 1 if rows else max(j for j, x in enumerate(part) if x[1] == r[1]) + 1
            frame = part[0 if preceding is None else max(0, i - preceding): end]
            if not rows and preceding is not None:  # RANGE p: keys within p, NULLs: peers
                if r[1] is None:
                    frame = [x for x in part if x[1] is None]
                else:
                    low, high = (r[1], r[1] + preceding) if desc else (r[1] - preceding, r[1])
                    frame = [x for x in part if x[1] is not None and low <= x[1] <= high]
            vs = [x[2] for x in frame if x[2] is not None]
            out[(*r, len(frame), len(vs), sum(vs) if vs else None,
                 round(sum(vs) / len(vs), 6) if vs else None,
                 min(vs) if vs else None, max(vs) if vs else None)] += 1
    return out


def apply(view: Counter, out: ListCollector) -> None:
    """Apply the emitted changelog to ``view``; a retraction must match an emitted row."""
    rows = out.table().to_pylist() if out.batches else []
    out.batches.clear()
    for r in rows:
        kind = r.pop(ROW_KIND)
        row = tuple(r.values())
        if kind in (RowKind.UPDATE_BEFORE, RowKind.DELETE):
            assert view[row] > 0, f"retraction of a row never emitted: {row}"
            view[row] -= 1
            if not view[row]:
                del view[row]
        else:
            view[row] += 1


def rounded(view: Counter) -> Counter:
    return Counter({(*r[:6], None if r[6] is None else round(r[6], 6), *r[7:]): n for r, n in view.items()})


@st.composite
def changelog(draw, free: bool = False):
    """Batches of (kind, row); retractions take rows that are live at that point. ``free``:
    ``v`` drawn on its own, so distinct rows tie on (k, o) (RANGE frames give peers equal
    results, whatever their order)."""
    live: Counter = Counter()
    batches = []
    for _ in range(draw(st.integers(1, 8))):
        batch = []
        for _ in range(draw(st.integers(1, 10))):
            if live and draw(st.booleans()):
                row = draw(st.sampled_from(sorted(live, key=repr)))
                live[row] -= 1
                if not live[row]:
                    del live[row]
                batch.append((draw(st.sampled_from([RowKind.UPDATE_BEFORE, RowKind.DELETE])), row))
            else:
                o = draw(st.one_of(st.none(), st.integers(0, 12)))
                v = draw(st.one_of(st.none(), st.integers(-3, 9))) if free else value(o)
                row = (draw(st.sampled_from(["a", "b", None])), o, v)
                live[row] += 1
                batch.append((draw(st.sampled_from([RowKind.INSERT, RowKind.UPDATE_AFTER])), row))
        batches.append(batch)
    return batches


def to_batch(changes: list[tuple[int, tuple]]) -> pa.RecordBatch:
    cols = [pa.array([r[i] for _, r in changes], f.type) for i, f in enumerate(S)]
    cols.append(pa.array([k for k, _ in changes], pa.int8()))
    return pa.RecordBatch.from_arrays(cols, names=[*S.names, ROW_KIND])


@pytest.mark.parametrize(("preceding", "desc", "nulls_first", "rows"),
                         [(2, False, True, True), (0, True, False, True), (None, False, False, True),
                          (None, True, True, True), (None, False, True, False), (None, True, False, False),
                          (2, False, True, False), (3, True, False, False), (0, False, False, False)])
@settings(max_examples=examples(60), deadline=None)
@given(data=st.data())
def test_applied_changelog_is_the_over_of_the_live_rows(preceding, desc, nulls_first, rows, data):
    batches = data.draw(changelog(free=not rows))
    o, out, view, live = op(preceding, desc, nulls_first, rows), ListCollector(), Counter(), Counter()
    for batch in batches:
        for kind, row in batch:
            live[row] += -1 if kind in (RowKind.UPDATE_BEFORE, RowKind.DELETE) else 1
        live = +live
        o.process_batch(to_batch(batch), out)
        apply(view, out)
        assert rounded(view) == oracle(live, preceding, desc, nulls_first, rows)


@pytest.mark.parametrize("parallelism", [1, 2])
@settings(max_examples=examples(30), deadline=None)
@given(batches=changelog(), cut=st.integers(0, 8))
def test_snapshot_restore_continues(parallelism, batches, cut):
    cut = min(cut, len(batches))
    whole, out = op(3), ListCollector()
    view: Counter = Counter()
    for b in batches:
        whole.process_batch(to_batch(b), out)
    apply(view, out)

    first, out1 = op(3), ListCollector()
    resumed: Counter = Counter()
    for b in batches[:cut]:
        first.process_batch(to_batch(b), out1)
    apply(resumed, out1)
    states = split_state(first.snapshot(1), ["k"], parallelism)
    subtasks = []
    for state in states:
        o = op(3)
        o.restore(state)
        subtasks.append(o)
    for b in batches[cut:]:
        for o, part in zip(subtasks, route(to_batch(b), ["k"], parallelism), strict=True):
            o.process_batch(part, out1)
    apply(resumed, out1)
    assert rounded(resumed) == rounded(view)


def test_state_compaction_keeps_the_results():
    """Thousands of distinct rows come and go: the row ids are renumbered (JoinSide.compact)
    and the slots with them; the rows left and those added later still get their results."""
    o, out, view, live = op(2), ListCollector(), Counter(), Counter()
    rows = [(("a", "b", None)[i % 3], i, value(i)) for i in range(6000)]
    steps = [[(RowKind.INSERT, r) for r in rows[:5000]],
             [(RowKind.DELETE, r) for r in rows[:4900]],
             [(RowKind.INSERT, r) for r in rows[5000:]] + [(RowKind.UPDATE_BEFORE, rows[4950])]]
    compacted = 0
    for step in steps:
        for kind, row in step:
            live[row] += -1 if kind in (RowKind.UPDATE_BEFORE, RowKind.DELETE) else 1
        size = o.side.size
        o.process_batch(to_batch(step), out)
        compacted += o.side.size < size
        apply(view, out)
    assert compacted and o.slots_live == sum(live.values()) < o.slots.size <= sum(live.values()) + 1
    assert rounded(view) == oracle(+live, 2, False, True, True)
