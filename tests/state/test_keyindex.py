"""KeyIndex: dense ids equal a dict over the key tuples, with group_by's key equality."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

import flowsql.state.keyindex as keyindex
from flowsql.state.keyindex import KeyIndex
from tests.examples import examples


def reference_ids(batches, names):
    """Ids assigned by a plain dict in first-seen order."""
    seen: dict = {}
    out = []
    for b in batches:
        cols = [b.column(n).to_pylist() for n in names]
        ids = []
        for key in zip(*cols, strict=True):
            key = tuple(("f", v.hex()) if isinstance(v, float) else v for v in key)
            ids.append(seen.setdefault(key, len(seen)))
        out.append(ids)
    return out


def relabel(id_lists):
    """Ids renamed by first occurrence (the NULL key may be numbered after other new keys)."""
    names: dict = {}
    return [[names.setdefault(i, len(names)) for i in ids] for ids in id_lists]


KEYS = st.lists(st.tuples(st.one_of(st.none(), st.integers(-3, 3)),
                          st.one_of(st.none(), st.sampled_from(["a", "b", "", "ccc"]))),
                max_size=30)


@settings(max_examples=examples(60), deadline=None)
@given(parts=st.lists(KEYS, min_size=1, max_size=4))
def test_ids_match_dict_reference(parts):
    batches = [pa.table({"i": pa.array([r[0] for r in p], pa.int64()),
                         "s": pa.array([r[1] for r in p], pa.string())}) for p in parts]
    for names in (["i"], ["s"], ["i", "s"]):
        index = KeyIndex(names)
        got = [index.lookup(b).tolist() for b in batches]
        assert relabel(got) == reference_ids(batches, names)
        assert sorted({i for ids in got for i in ids}) == list(range(index.size))
        # every id's stored key round-trips
        if index.size:
            back = index.keys(np.arange(index.size))
            again = KeyIndex(names)
            ids2 = again.lookup(back)
            assert len(set(ids2.tolist())) == index.size
            assert again.keys(ids2).to_pylist() == back.to_pylist()


def test_int_keys_with_null_and_unknown_lookup():
    index = KeyIndex(["k"])
    ids = index.lookup(pa.table({"k": pa.array([5, None, 7, 5, None], pa.int32())}))
    assert ids.tolist() == [0, 2, 1, 0, 2]  # NULL numbered after the other new keys
    probe = index.lookup(pa.table({"k": pa.array([7, 9, None], pa.int32())}), insert=False)
    assert probe.tolist() == [1, -1, 2]
    assert index.size == 3
    assert index.keys(np.array([1, 2, 0])).column("k").to_pylist() == [7, None, 5]


def test_float_keys_follow_group_by_equality():
    t = pa.table({"f": pa.array([0.0, -0.0, float("nan"), float("nan"), None, 0.0])})
    ids = KeyIndex(["f"]).lookup(t)
    groups = t.group_by(["f"], use_threads=False).aggregate([])
    assert len(set(ids.tolist())) == groups.num_rows == 4
    assert ids[0] == ids[5] and ids[2] == ids[3] and ids[0] != ids[1]


def test_hash_collisions_resolve_exactly(monkeypatch):
    """With a degenerate hash every key collides: ids must still be exact."""
    monkeypatch.setattr(keyindex, "_column_code",
                        lambda arr: np.zeros(len(arr), dtype=np.uint64))
    batches = [pa.table({"s": ["a", "b", "a", None]}), pa.table({"s": ["c", None, "b", "d"]})]
    index = KeyIndex(["s"])
    got = [index.lookup(b).tolist() for b in batches]
    assert relabel(got) == reference_ids(batches, ["s"]) == got
    assert index.lookup(pa.table({"s": ["zz", "d"]}), insert=False).tolist() == [-1, 4]
    remap = index.retain(np.array([True, False, True, True, True]))
    assert remap.tolist() == [0, -1, 1, 2, 3]
    assert index.lookup(pa.table({"s": ["a", None, "c", "d", "b"]})).tolist() == [0, 1, 2, 3, 4]


def test_retain_renumbers_in_order_and_new_keys_follow():
    rng = np.random.default_rng(5)
    keys = rng.permutation(50_000)
    index = KeyIndex(["k"])
    ids = index.lookup(pa.table({"k": keys}))
    assert (ids == np.arange(50_000)).all()
    keep = keys % 3 == 0
    remap = index.retain(keep)
    assert index.size == keep.sum()
    assert (np.diff(remap[keep]) == 1).all()
    again = index.lookup(pa.table({"k": keys[keep]}), insert=False)
    assert (again == np.arange(keep.sum())).all()
    assert (index.lookup(pa.table({"k": keys[~keep]}), insert=False) == -1).all()
    fresh = index.lookup(pa.table({"k": np.array([10**9, 10**9 + 1])}))
    assert fresh.tolist() == [keep.sum(), keep.sum() + 1]


def test_many_small_batches_keep_ids_and_stored_keys():
    """Thousands of keys arriving in small batches (many code-table inserts and growths, many
    key pieces): ids stay dense in first-seen order, and keys() returns each id's key."""
    rng = np.random.default_rng(11)
    values = rng.integers(0, 6_000, 20_000)
    index, hashed = KeyIndex(["k"]), KeyIndex(["s", "k"])
    seen: dict[int, int] = {}
    for lo in range(0, len(values), 300):
        part = values[lo:lo + 300]
        want = [seen.setdefault(int(v), len(seen)) for v in part]
        assert index.lookup(pa.table({"k": part})).tolist() == want
        strings = pa.array([f"s{v}" for v in part])
        assert hashed.lookup(pa.table({"s": strings, "k": part % 7})).tolist() == want
    ids = np.arange(len(seen))[::-1]
    expect = sorted(seen, key=seen.get)[::-1]
    assert index.keys(ids).column("k").to_pylist() == expect
    assert hashed.keys(ids).column("s").to_pylist() == [f"s{v}" for v in expect]


def test_no_key_columns_is_one_group():
    index = KeyIndex([])
    assert index.lookup(pa.table({"x": [1, 2]}), insert=False).tolist() == [-1, -1]
    assert index.lookup(pa.table({"x": [1, 2]})).tolist() == [0, 0]
    assert index.size == 1


@settings(max_examples=examples(60), deadline=None)
@given(values=st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 5), min_size=1, max_size=80))
def test_unique_equals_numpy_unique(values):
    """keyindex._unique (unstable SIMD sort) returns what np.unique(return_index=True,
    return_inverse=True) returns: sorted values, first positions, inverse."""
    v = np.array(values, dtype=np.uint64)
    u, first, inv = keyindex._unique(v)
    eu, efirst, einv = np.unique(v, return_index=True, return_inverse=True)
    assert u.tolist() == eu.tolist()
    assert first.tolist() == efirst.tolist()
    assert inv.tolist() == einv.reshape(-1).tolist()
