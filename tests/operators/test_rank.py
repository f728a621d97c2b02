"""The Top-N operator on its own: the changelog as ranks shift (with and without the row
number), retractions promoting a row, deduplication ties, and snapshot/restore (also split
by key group, as a rescale does) continuing like the uninterrupted operator."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from operators_harness import changelog_batch, changes

from flowsql.messages import RowKind
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.rank import RankOperator, RankSpec
from flowsql.session.streaming import apply_changelog
from flowsql.state.keygroups import filter_key_groups, key_group_range, key_groups
from tests.examples import examples

S = pa.schema([("k", pa.string()), ("v", pa.int64()), ("id", pa.int64())])
INS, UB, UA, D = (int(k) for k in RowKind)


def op(n: int = 2, numbered: bool = True, append_only: bool = True, keep_last: bool = False,
       subtask: int = 0, parallelism: int = 1, config: dict | None = None) -> RankOperator:
    spec = RankSpec(("k",), (("v", True, False),), 1, n, "rn" if numbered else None, keep_last)
    o = RankOperator(spec, S, append_only=append_only)
    o.open(OperatorContext("rank", subtask_index=subtask, parallelism=parallelism,
                           config=config or {}))
    return o


def batch(rows: list[tuple], kinds: list[int] | None = None) -> pa.RecordBatch:
    return changelog_batch(S, rows, kinds)


def test_ranks_shift_with_update_pairs():
    o, out = op(), ListCollector()
    o.process_batch(batch([("a", 5, 1)]), out)
    o.process_batch(batch([("a", 3, 2)]), out)
    assert changes(out) == [("+I", "a", 5, 1, 1), ("+I", "a", 3, 2, 2)]
    out = ListCollector()
    o.process_batch(batch([("a", 9, 3)]), out)  # new first: everything shifts down one rank
    assert sorted(changes(out)) == sorted([
        ("-U", "a", 5, 1, 1), ("+U", "a", 9, 3, 1), ("-U", "a", 3, 2, 2), ("+U", "a", 5, 1, 2)])
    assert changes(out)[0][0] == "-U" and changes(out)[-1][0] == "+U"  # retractions first
    assert o.snapshot(1)["rows"].num_rows == 2  # append-only: the row ranked 3rd is gone


def test_without_row_number_only_entering_and_leaving_rows():
    o, out = op(numbered=False), ListCollector()
    o.process_batch(batch([("a", 5, 1), ("a", 3, 2)]), out)
    out = ListCollector()
    o.process_batch(batch([("a", 4, 3)]), out)  # 5 stays (no output), 4 enters, 3 leaves
    assert changes(out) == [("-D", "a", 3, 2), ("+I", "a", 4, 3)]
    out = ListCollector()
    o.process_batch(batch([("a", 1, 4)]), out)  # below the top-2: nothing
    assert changes(out) == []


def test_retraction_promotes_the_next_row():
    o, out = op(n=1, append_only=False), ListCollector()
    o.process_batch(batch([("a", 5, 1), ("a", 3, 2)]), out)
    out = ListCollector()
    o.process_batch(batch([("a", 5, 1)], [D]), out)
    assert changes(out) == [("-U", "a", 5, 1, 1), ("+U", "a", 3, 2, 1)]


def test_deduplication_ties_keep_first_or_last_arrival():
    first, last = op(n=1, numbered=False), op(n=1, numbered=False, keep_last=True)
    for o in (first, last):
        o.process_batch(batch([("a", 7, 1)]), ListCollector())
    out_first, out_last = ListCollector(), ListCollector()
    first.process_batch(batch([("a", 7, 2)]), out_first)
    last.process_batch(batch([("a", 7, 2)]), out_last)
    assert changes(out_first) == []
    assert changes(out_last) == [("-D", "a", 7, 1), ("+I", "a", 7, 2)]


def test_state_ttl_drops_rows_silently():
    o = op(n=1, config={"table.exec.state.ttl": "10 s"})
    now = [1000.0]
    o.clock = lambda: now[0]
    o.process_batch(batch([("a", 5, 1)]), ListCollector())
    now[0] += 5
    o.process_batch(batch([("b", 1, 2)]), ListCollector())  # written 5 s later: kept
    now[0] += 6  # (a, 5) is 11 s old
    out = ListCollector()
    o.process_batch(batch([("a", 2, 3), ("b", 0, 4)]), out)
    assert changes(out) == [("+I", "a", 2, 3, 1)]  # (a, 5) expired without output
    assert sorted(r["id"] for r in o.snapshot(1)["rows"].to_pylist()) == [2, 3]


def test_row_numbers_place_nulls_and_nan_as_flink():
    from flowsql.operators.rank import row_numbers

    values = pa.table({"x": pa.array([1.0, float("nan"), None, 3.0])})
    groups, tie = np.zeros(4, np.int64), np.arange(4)
    asc = row_numbers(groups, values, (("x", False, True),), tie)[0]  # ASC NULLS FIRST
    desc = row_numbers(groups, values, (("x", True, False),), tie)[0]  # DESC NULLS LAST
    assert asc.tolist() == [2, 0, 3, 1]  # NULL, 1, 3, NaN
    assert desc.tolist() == [1, 3, 0, 2]  # NaN, 3, 1, NULL


# -- random changelogs: restore and rescale ----------------------------------------------------
ROW = st.tuples(st.sampled_from(["a", "b", "c", None]), st.one_of(st.none(), st.integers(0, 6)),
                st.integers(0, 3))


@st.composite
def steps(draw):
    """Batches of +I rows and -D of rows inserted before (a valid changelog)."""
    live: list[tuple] = []
    out = []
    for _ in range(draw(st.integers(1, 10))):
        rows, kinds = [], []
        for _ in range(draw(st.integers(1, 5))):
            if live and draw(st.booleans()):
                rows.append(live.pop(draw(st.integers(0, len(live) - 1))))
                kinds.append(D)
            else:
                r = draw(ROW)
                live.append(r)
                rows.append(r)
                kinds.append(INS)
        out.append((rows, kinds))
    return out, live


def _run(route, steps_) -> ListCollector:
    out = ListCollector()
    for rows, kinds in steps_:
        for o, part in route(batch(rows, kinds)):
            o.process_batch(part, out)
    return out


def _final(*outs: ListCollector) -> list:
    batches = [b for o in outs for b in o.batches]
    if not batches:
        return []
    table = apply_changelog(pa.Table.from_batches(batches))
    return sorted(((r["k"], r["v"], r["rn"]) for r in table.to_pylist()), key=str)


def _oracle(live: list[tuple], n: int) -> list:
    out = []
    for k in {r[0] for r in live}:
        vs = sorted((r[1] for r in live if r[0] == k), key=lambda v: (v is None, -(v or 0)))
        out += [(k, v, i + 1) for i, v in enumerate(vs[:n])]
    return sorted(out, key=str)


@pytest.mark.parametrize("append_only", [False, True])
@settings(max_examples=examples(40), deadline=None)
@given(data=steps(), cut=st.integers(0, 10))
def test_restore_and_rescale_continue_like_the_uninterrupted_operator(append_only, data, cut):
    steps_, live = data
    if append_only:
        steps_ = [([r for r, k in zip(rows, kinds, strict=True) if k == INS], [INS] * kinds.count(INS))
                  for rows, kinds in steps_]
        steps_ = [s for s in steps_ if s[0]]
        live = [r for rows, _ in steps_ for r in rows]
    first, rest = steps_[:cut], steps_[cut:]
    whole = op(append_only=append_only)
    expected = _final(_run(lambda b: [(whole, b)], steps_))
    assert expected == _oracle(live, 2)
    a = op(append_only=append_only)
    before = _run(lambda b: [(a, b)], first)
    snap = a.snapshot(1)
    one = op(append_only=append_only)
    one.restore(snap)
    assert _final(before, _run(lambda b: [(one, b)], rest)) == expected
    two = [op(append_only=append_only, subtask=i, parallelism=2) for i in range(2)]
    for i, o in enumerate(two):
        o.restore({n: filter_key_groups(t, o.state_keys, key_group_range(i, 2))
                   for n, t in snap.items()})

    def route(b):  # the hash exchange: rows to the subtask owning their key group
        owner = np.where(key_groups(b, ["k"]) < key_group_range(0, 2)[1], 0, 1)
        return [(two[i], b.filter(pa.array(owner == i))) for i in range(2)]

    assert _final(before, _run(route, rest)) == expected
