"""AccumulatorStore: count columns sharing the rows column, columns without validity, and
slots inserted between others — each checked against ``Accumulators.merge`` of the same
partials."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flowsql.operators.acc_store import AccumulatorStore
from flowsql.operators.accumulators import Accumulators
from flowsql.operators.specs import AggCall

ROWS = "$rows"
AGGS = (AggCall("COUNT_STAR", None, "c"), AggCall("SUM", "v", "s"), AggCall("AVG", "v", "a"),
        AggCall("MIN", "v", "mn"))


def _partial(accs: Accumulators, k: list, v: list, sign: list | None = None) -> pa.Table:
    t = pa.table({"k": pa.array(k, pa.int64()), "v": pa.array(v, pa.int64()),
                  "$sign": pa.array(sign or [1] * len(k), pa.int64())})
    s = pa.array(sign, pa.int64()) if sign else None
    return accs.partial(t, ["k"], sign=s, extra=[("$sign", "sum", ROWS)])


def _expected(accs: Accumulators, parts: list[pa.Table]) -> dict:
    merged = accs.merge(parts, ["k"], extra=[(ROWS, "sum")])
    res = accs.results(merged)
    keys = merged.column("k").to_pylist()
    return {k: tuple(r[i].as_py() for r in res) for i, k in enumerate(keys)}


def _actual(accs: Accumulators, parts: list[pa.Table]) -> tuple[dict, AccumulatorStore]:
    store = AccumulatorStore(accs, extra=[(ROWS, "sum")], rows=ROWS)
    slot = {}
    for p in parts:
        ks = p.column("k").to_pylist()
        for k in ks:
            slot.setdefault(k, len(slot))
        store.resize(len(slot))
        store.merge(np.array([slot[k] for k in ks], dtype=np.int64), p)
    res = accs.results(store.table(np.arange(len(slot))))
    return {k: tuple(r[i].as_py() for r in res) for k, i in slot.items()}, store


def test_counts_share_the_rows_column_until_a_null_arrives():
    accs = Accumulators(AGGS)
    first = [_partial(accs, [1, 2, 1], [5, 6, 7]), _partial(accs, [2, 3], [1, 2])]
    got, store = _actual(accs, first)
    assert got == _expected(accs, first)
    assert set(store.aliases) == {"a0.cnt", "a1.cnt", "a2.cnt"}  # no array of their own
    assert set(store.columns) == {ROWS, "a1.sum", "a2.sum", "a3.min"}
    assert store.columns["a1.sum"].valid is None and store.columns["a3.min"].valid is not None
    # a NULL value: SUM/AVG's count now differs from the row count, COUNT(*)'s does not
    parts = [*first, _partial(accs, [3, 4], [None, None])]
    got, store = _actual(accs, parts)
    assert got == _expected(accs, parts)
    assert got[4] == (1, None, None, None)
    assert set(store.aliases) == {"a0.cnt"}


def test_split_counts_keep_retracting_correctly():
    accs = Accumulators(AGGS[:3])
    parts = [_partial(accs, [1, 1, 2], [4, 5, 6]),
             _partial(accs, [1, 2], [None, 3]),
             _partial(accs, [1, 2], [4, 6], sign=[-1, -1]),
             _partial(accs, [1], [None], sign=[-1])]
    got, store = _actual(accs, parts)
    assert got == _expected(accs, parts)
    assert got[1] == (1, 5, 5.0)


def test_assign_keeps_the_alias_when_the_counts_equal_the_rows():
    accs = Accumulators(AGGS[:2])
    parts = [_partial(accs, [1, 2, 2], [1, None, 3])]
    _, store = _actual(accs, parts)
    table = store.table(np.arange(2))  # the rows column is one of the store's columns
    assert table.column(ROWS).to_pylist() == [1, 2]
    fresh = AccumulatorStore(accs, extra=[(ROWS, "sum")], rows=ROWS)
    fresh.resize(2)
    fresh.assign(np.arange(2), table.select([c for c in table.column_names if c != "a1.cnt"]
                                            ).append_column("a1.cnt", table.column("a0.cnt")))
    assert set(fresh.aliases) == {"a0.cnt", "a1.cnt"}
    fresh.assign(np.arange(2), table)  # SUM's count (1, 1) differs from the rows (1, 2)
    assert set(fresh.aliases) == {"a0.cnt"}
    assert fresh.table(np.arange(2)).equals(store.table(np.arange(2)))


def test_insert_adds_empty_slots_between_others():
    accs = Accumulators(AGGS)
    store = AccumulatorStore(accs)
    store.resize(2)
    store.merge(np.array([0, 1]), _partial(accs, [10, 30], [1, 3]).drop_columns([ROWS]))
    store.insert(np.array([1, 2]))  # slots: 10, new, 30, new
    assert store.size == 4
    store.merge(np.array([1, 3]), _partial(accs, [20, 40], [2, None]).drop_columns([ROWS]))
    res = accs.results(store.table(np.arange(4)))
    assert [r.to_pylist() for r in res] == [[1, 1, 1, 1], [1, 2, 3, None],
                                            [1.0, 2.0, 3.0, None], [1, 2, 3, None]]
