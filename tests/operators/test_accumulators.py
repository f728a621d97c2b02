"""Accumulators: partial → merge → result equals a one-shot aggregate, in any merge order."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowsql.errors import NotSupportedError, PlanError
from flowsql.operators.accumulators import SEQ, SIGN, Accumulators
from flowsql.operators.specs import AggCall, GroupAggregateSpec
from tests.examples import examples

AGGS = (
    AggCall("COUNT_STAR", None, "c"),
    AggCall("SUM", "v", "s"),
    AggCall("AVG", "v", "a"),
    AggCall("MIN", "w", "mn"),
    AggCall("MAX", "w", "mx"),
    AggCall("FIRST_VALUE", "w", "f"),
    AggCall("LAST_VALUE", "w", "l", filter="flag"),
)


def _table(rows):
    return pa.table({
        "k": pa.array([r[0] for r in rows], pa.string()),
        "v": pa.array([r[1] for r in rows], pa.int32()),
        "w": pa.array([r[2] for r in rows], pa.string()),
        "flag": pa.array([r[3] for r in rows], pa.bool_()),
        SEQ: pa.array(np.arange(len(rows)), pa.int64()),
    })


def _result(accs, state):
    cols = dict(zip(accs.result_names(), accs.results(state), strict=True))
    return sorted(zip(state["k"].to_pylist(), *(c.to_pylist() for c in cols.values()),
                      strict=True), key=repr)


ROWS = st.lists(st.tuples(st.sampled_from(["a", "b", None]),
                          st.one_of(st.none(), st.integers(-3, 9)),
                          st.one_of(st.none(), st.sampled_from(["p", "q", "r"])),
                          st.one_of(st.none(), st.booleans())), min_size=1, max_size=40)


@settings(max_examples=examples(50), deadline=None)
@given(rows=ROWS, cut=st.integers(0, 40), seed=st.integers(0, 99))
def test_merge_of_partials_equals_one_shot(rows, cut, seed):
    t = _table(rows)
    accs = Accumulators(AGGS)
    one_shot = accs.partial(t, ["k"])
    cut = min(cut, t.num_rows)
    parts = [accs.partial(t.slice(0, cut), ["k"]), accs.partial(t.slice(cut), ["k"])]
    # merge order must not matter (FIRST/LAST follow the seq, not positions)
    rng = np.random.default_rng(seed)
    merged = accs.merge([parts[i] for i in rng.permutation(2)], ["k"])
    assert _result(accs, merged) == _result(accs, one_shot)


def test_result_types_and_values():
    t = _table([("a", 1, "q", True), ("a", None, "p", False), ("a", 4, None, True)])
    accs = Accumulators(AGGS)
    res = accs.results(accs.partial(t, ["k"]))
    assert [r.type for r in res] == [pa.int64(), pa.int64(), pa.float64(), pa.string(),
                                     pa.string(), pa.string(), pa.string()]
    assert [r.to_pylist() for r in res] == [[3], [5], [2.5], ["p"], ["q"], ["q"], ["q"]]


def test_signed_partial_retracts():
    t = pa.table({"k": ["a", "a", "a"], "v": [1, 2, 1], SIGN: pa.array([1, 1, -1], pa.int64())})
    accs = Accumulators((AggCall("SUM", "v", "s"), AggCall("COUNT", "v", "c"),
                         AggCall("AVG", "v", "a")))
    res = accs.results(accs.partial(t, ["k"], sign=t[SIGN]))
    assert [r.to_pylist() for r in res] == [[2], [1], [2.0]]


def test_non_retractable_functions():
    accs = Accumulators((AggCall("MAX", "v", "m"), AggCall("COUNT", "v", "c")))
    assert not accs.retractable
    with pytest.raises(NotSupportedError, match="MAX"):
        accs.check_retractable()


def test_spec_validation_and_round_trip():
    with pytest.raises(PlanError):
        AggCall("MEDIAN", "v", "m")
    with pytest.raises(PlanError):
        AggCall("SUM", None, "s")
    with pytest.raises(PlanError):
        GroupAggregateSpec(("k",), (AggCall("SUM", "v", "k"),))
    spec = GroupAggregateSpec(("k",), AGGS)
    assert GroupAggregateSpec.from_dict(spec.to_dict()) == spec


def test_numpy_fast_path_equals_acero():
    """accumulators._group_numpy (one key; COUNT, and SUM/MIN/MAX of BIGINT) gives Acero's
    rows: random keys of several types with NULLs, keys in runs (a window's slice ends) and
    runs of one key that come back, values near the int64 range (sums wrapping alike),
    chunked input."""
    from flowsql.operators.accumulators import _group, _group_numpy

    rng = np.random.default_rng(7)
    for _ in range(120):
        n = int(rng.choice([1, 7, 300, 5000, 70_000]))
        raw = rng.integers(-int(rng.choice([3, 1000, 10**9])), 1000, n)
        kind = rng.choice(["int", "int32", "str", "bool", "decimal", "runs", "runs32"])
        mask = rng.random(n) < 0.05
        if kind == "int":
            key = pa.array(raw, mask=mask)
        elif kind == "int32":
            key = pa.array(raw.astype(np.int32), mask=mask)
        elif kind == "str":
            key = pa.array([str(x) for x in raw], mask=mask)
        elif kind == "bool":
            key = pa.array(raw > 0, mask=mask)
        elif kind == "decimal":
            key = pa.array(raw).cast(pa.decimal128(30, 2))
        else:  # a few runs, in order or not
            runs = np.sort(rng.integers(0, 4, int(rng.integers(1, 5))))
            if rng.random() < 0.5:
                rng.shuffle(runs)
            cuts = np.sort(rng.integers(0, n + 1, len(runs) - 1))
            key = pa.array(np.repeat(runs * 10_000, np.diff(cuts, prepend=0, append=n)),
                           pa.int32() if kind == "runs32" else pa.int64())
        table = pa.table({"k": key, "v": pa.array(rng.integers(-2**62, 2**62, n)),
                          "w": pa.array(rng.integers(-3, 3, n))})
        if n > 1:
            table = pa.concat_tables([table.slice(0, n // 2), table.slice(n // 2)])
        aggs = [("v", "sum"), ([], "count_all"), ("w", "sum"), ("v", "max"), ("w", "min"),
                ("v", "min")]
        fast = _group_numpy(table, ["k"], aggs)
        assert fast is not None
        acero = table.group_by(["k"], use_threads=False).aggregate(aggs)
        assert fast.schema == acero.schema
        assert fast.sort_by("k").equals(acero.sort_by("k"))  # keys are distinct
        assert _group(table, ["k"], aggs).equals(fast)
    nulls = pa.table({"k": [1, 1], "v": pa.array([1, None], pa.int64())})
    assert _group_numpy(nulls, ["k"], [("v", "max")]) is None  # NULLs: Acero
    floats = pa.table({"k": [1, 1], "v": pa.array([1.5, float("nan")])})
    assert _group_numpy(floats, ["k"], [("v", "max")]) is None  # not BIGINT: Acero
