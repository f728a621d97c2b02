"""SliceCells: cells kept in key-id order in one id array (int32 while ids fit), against a
dict of counts and sums."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flowsql.operators.accumulators import Accumulators
from flowsql.operators.slice_state import KID, SliceCells
from flowsql.operators.specs import AggCall

AGGS = (AggCall("COUNT_STAR", None, "c"), AggCall("SUM", "v", "s"))


def _merge_batches(cells: SliceCells, accs: Accumulators, batches) -> dict:
    ref: dict[int, list[int]] = {}
    for kids, vals in batches:
        part = accs.partial(pa.table({"k": kids, "v": vals}), ["k"])
        ids = part.column("k").to_numpy()
        cells.merge(ids, part.drop_columns(["k"]))
        for k, v in zip(kids.tolist(), vals.tolist(), strict=True):
            c, s = ref.get(k, [0, 0])
            ref[k] = [c + 1, s + v]
    return ref


def _cells(cells: SliceCells, accs: Accumulators) -> dict:
    t = cells.table()
    c, s = accs.results(t)
    return {k: [a, b] for k, a, b in zip(t.column(KID).to_pylist(), c.to_pylist(),
                                         s.to_pylist(), strict=True)}


def test_cells_stay_in_key_id_order_and_match_a_dict():
    rng = np.random.default_rng(3)
    accs = Accumulators(AGGS)
    cells = SliceCells(accs, ["k"])
    batches = [(rng.integers(0, 5_000, 2_000), rng.integers(0, 100, 2_000)) for _ in range(6)]
    ref = _merge_batches(cells, accs, batches)
    assert cells.kids.dtype == np.int32 and len(cells.kids) == cells.n == len(ref)
    assert (np.diff(cells.kids) > 0).all()
    assert cells.table().column(KID).type == pa.int64()
    assert _cells(cells, accs) == ref
    remap = np.full(5_000, -1, dtype=np.int64)
    keep = np.array(sorted(ref))
    remap[keep] = np.arange(len(keep)) * 2  # monotonic on the survivors
    cells.remap(remap)
    assert cells.kids.dtype == np.int32
    assert _cells(cells, accs) == {int(remap[k]): v for k, v in ref.items()}


def test_ids_beyond_int32_widen_the_id_array():
    accs = Accumulators(AGGS)
    cells = SliceCells(accs, ["k"])
    small = (np.array([5, 1, 9], dtype=np.int64), np.array([1, 2, 3], dtype=np.int64))
    big = (np.array([2**33, 9, 2**31], dtype=np.int64), np.array([4, 5, 6], dtype=np.int64))
    ref = _merge_batches(cells, accs, [small, big])
    assert cells.kids.dtype == np.int64
    assert cells.kids.tolist() == [1, 5, 9, 2**31, 2**33]
    assert _cells(cells, accs) == ref
