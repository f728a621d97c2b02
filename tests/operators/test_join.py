"""The regular join operator on its own: the changelog of outer joins, random changelogs vs
a DuckDB oracle (also in its SEMI / ANTI modes), snapshot/restore (also split by key group, as a rescale does), state TTL
and compaction."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from operators_harness import changelog_batch as batch
from operators_harness import changes

from flowsql.messages import RowKind
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.join import JoinOperator, JoinSpec
from flowsql.session.streaming import apply_changelog
from flowsql.state.keygroups import filter_key_groups, key_group_range, key_groups
from tests.examples import examples

L = pa.schema([("k", pa.int64()), ("v", pa.string())])
R = pa.schema([("k0", pa.int64()), ("w", pa.string())])
OUT = pa.schema(list(L) + list(R))
INS, UB, UA, D = (int(k) for k in RowKind)


def op(join_type: str = "INNER", ttl: tuple = (None, None), config: dict | None = None,
       subtask: int = 0, parallelism: int = 1) -> JoinOperator:
    o = JoinOperator(JoinSpec(join_type, ("k",), ("k0",)), L, R, OUT, state_ttl_ms=ttl)
    o.open(OperatorContext("join", subtask_index=subtask, parallelism=parallelism,
                           config=config or {}))
    return o


def test_left_join_retracts_and_restores_the_null_padded_row():
    o, out = op("LEFT"), ListCollector()
    o.process_batch(batch(L, [(1, "a"), (None, "n")]), out, 0)
    assert changes(out) == [("+I", 1, "a", None, None), ("+I", None, "n", None, None)]
    out.batches.clear()
    o.process_batch(batch(R, [(1, "x"), (1, "y")]), out, 1)  # the first matches arrive
    assert changes(out) == [("-D", 1, "a", None, None), ("+I", 1, "a", 1, "x"),
                            ("+I", 1, "a", 1, "y")]
    out.batches.clear()
    o.process_batch(batch(R, [(1, "x")], [D]), out, 1)
    assert changes(out) == [("-D", 1, "a", 1, "x")]
    out.batches.clear()
    o.process_batch(batch(R, [(1, "y")], [UB]), out, 1)  # the last match goes
    assert changes(out) == [("-D", 1, "a", 1, "y"), ("+I", 1, "a", None, None)]
    out.batches.clear()
    o.process_batch(batch(L, [(1, "a"), (None, "n")], [D, D]), out, 0)
    assert sorted(changes(out), key=str) == sorted(
        [("-D", 1, "a", None, None), ("-D", None, "n", None, None)], key=str)


def test_inner_join_of_append_inputs_has_no_row_kind_column():
    o = JoinOperator(JoinSpec("INNER", ("k",), ("k0",), changelog=False), L, R, OUT)
    o.open(OperatorContext("join"))
    out = ListCollector()
    o.process_batch(batch(L, [(1, "a"), (1, "a"), (2, "b")]), out, 0)
    o.process_batch(batch(R, [(1, "x")]), out, 1)
    assert out.table().column_names == OUT.names
    assert out.table().to_pylist() == [{"k": 1, "v": "a", "k0": 1, "w": "x"}] * 2


# -- random changelogs vs DuckDB -------------------------------------------------------------
ROW = st.tuples(st.sampled_from([1, 2, 3, None]), st.sampled_from(["p", "q"]))


@st.composite
def changelog_steps(draw):
    """(input index, rows, kinds) steps whose retractions retract rows added before."""
    live: list[list[tuple]] = [[], []]
    steps = []
    for _ in range(draw(st.integers(1, 12))):
        side = draw(st.integers(0, 1))
        rows, kinds = [], []
        for _ in range(draw(st.integers(1, 5))):
            if live[side] and draw(st.booleans()):
                r = live[side].pop(draw(st.integers(0, len(live[side]) - 1)))
                rows.append(r)
                kinds.append(draw(st.sampled_from([UB, D])))
            else:
                r = draw(ROW)
                live[side].append(r)
                rows.append(r)
                kinds.append(draw(st.sampled_from([INS, UA])))
        steps.append((side, rows, kinds))
    return steps, live


def _oracle(join_type: str, left: list[tuple], right: list[tuple]) -> list[tuple]:
    import duckdb

    lt = pa.table({"k": pa.array([r[0] for r in left], pa.int64()), "v": [r[1] for r in left]},
                  schema=L)
    rt = pa.table({"k0": pa.array([r[0] for r in right], pa.int64()), "w": [r[1] for r in right]},
                  schema=R)
    con = duckdb.connect()
    con.register("lt", lt)
    con.register("rt", rt)
    join = {"INNER": "JOIN", "LEFT": "LEFT JOIN", "RIGHT": "RIGHT JOIN", "FULL": "FULL JOIN"}
    if join_type in ("SEMI", "ANTI"):  # the left rows, right columns NULL
        exists = "EXISTS" if join_type == "SEMI" else "NOT EXISTS"
        query = (f"SELECT lt.*, NULL, NULL FROM lt WHERE {exists} "
                 "(SELECT * FROM rt WHERE lt.k = rt.k0 AND lt.v <= rt.w)")
    else:
        query = f"SELECT * FROM lt {join[join_type]} rt ON lt.k = rt.k0 AND lt.v <= rt.w"
    return sorted(con.execute(query).fetchall(), key=str)


@pytest.mark.parametrize("join_type", ["INNER", "LEFT", "RIGHT", "FULL", "SEMI", "ANTI"])
@settings(max_examples=examples(60), deadline=None)
@given(data=changelog_steps())
def test_random_changelogs_match_duckdb(join_type, data):
    from flowsql.expr.compile import compile_expression

    steps, live = data
    residual = compile_expression("v <= w", OUT).evaluate
    o = JoinOperator(JoinSpec(join_type, ("k",), ("k0",)), L, R, OUT, residual=residual)
    o.open(OperatorContext("join"))
    out = ListCollector()
    for side, rows, kinds in steps:
        o.process_batch(batch(L if side == 0 else R, rows, kinds), out, side)
    got = apply_changelog(out.table()) if out.batches else pa.table({})
    got_rows = sorted((tuple(r.values()) for r in got.to_pylist()), key=str)
    assert got_rows == _oracle(join_type, live[0], live[1])


# -- checkpoints -----------------------------------------------------------------------------
def _run(ops_for, steps) -> ListCollector:
    out = ListCollector()
    for side, rows, kinds in steps:
        b = batch(L if side == 0 else R, rows, kinds)
        for o, part in ops_for(side, b):
            o.process_batch(part, out, side)
    return out


@pytest.mark.parametrize("join_type", ["INNER", "FULL", "ANTI"])
@settings(max_examples=examples(30), deadline=None)
@given(data=changelog_steps(), cut=st.integers(0, 12))
def test_restore_and_rescale_continue_like_the_uninterrupted_operator(join_type, data, cut):
    steps, _ = data
    first, rest = steps[:cut], steps[cut:]
    whole = op(join_type)
    expected = _run(lambda side, b: [(whole, b)], steps)
    # snapshot after `first`, restore at parallelism 1 and at parallelism 2 (split by key group)
    a = op(join_type)
    before = _run(lambda side, b: [(a, b)], first)
    snap = a.snapshot(1)
    one = op(join_type)
    one.restore(snap)
    after_one = _run(lambda side, b: [(one, b)], rest)
    assert _final(before, after_one) == _final(expected)
    two = [op(join_type, subtask=i, parallelism=2) for i in range(2)]
    for i, o in enumerate(two):
        rng = key_group_range(i, 2)
        o.restore({n: filter_key_groups(t, o.state_keys, rng) for n, t in snap.items()})

    def route(side, b):  # the hash exchange: rows to the subtask owning their key group
        key = "k" if side == 0 else "k0"
        kg = key_groups(b, [key])
        owner = np.where(kg < key_group_range(0, 2)[1], 0, 1)
        return [(two[i], b.filter(pa.array(owner == i))) for i in range(2)]

    after_two = _run(route, rest)
    assert _final(before, after_two) == _final(expected)


def _final(*outs: ListCollector) -> list:
    batches = [b for o in outs for b in o.batches]
    if not batches:
        return []
    return sorted((tuple(r.values()) for r in apply_changelog(pa.Table.from_batches(batches))
                   .to_pylist()), key=str)


# -- TTL and housekeeping --------------------------------------------------------------------
def test_state_ttl_forgets_rows_silently():
    o, out = op("INNER", config={"table.exec.state.ttl": "10 s"}), ListCollector()
    now = [1000.0]
    o.clock = lambda: now[0]
    o.process_batch(batch(L, [(1, "a")]), out, 0)
    now[0] += 5
    o.process_batch(batch(R, [(1, "x")]), out, 1)
    assert len(out.table()) == 1
    now[0] += 11  # both rows expired
    o.process_batch(batch(R, [(1, "y")]), out, 1)
    assert len(out.table()) == 1  # no match any more, and no output for the expiry
    assert o.snapshot(1)["left"].num_rows == 0
    assert o.snapshot(1)["right"].num_rows == 1  # (1, y) was just written


def test_hint_ttl_per_side_wins_over_the_config():
    o = op("INNER", ttl=(0, 2000), config={"table.exec.state.ttl": "1 s"})
    assert o.ttl_ms == (0, 2000)


def test_state_is_compacted_after_churn():
    o, out = op("LEFT"), ListCollector()
    for i in range(40):
        rows = [(j, f"v{i}") for j in range(i * 500, i * 500 + 500)]
        o.process_batch(batch(L, rows), out, 0)
        o.process_batch(batch(L, rows, [D] * len(rows)), out, 0)
    o.process_batch(batch(L, [(7, "z")]), out, 0)
    o.process_batch(batch(R, [(7, "x")]), out, 1)
    assert o.sides[0].size < 10_000  # 20,000 distinct rows went through
    assert _final(out) == [(7, "z", 7, "x")]
