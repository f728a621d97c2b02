"""CodeTable: a vectorized hash map uint64 code → id equals a dict, through growth, colliding
home slots, wrap-around and filtering."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import flowsql.state.codetable as codetable
from flowsql.state.codetable import CodeTable
from tests.examples import examples

CODES = st.lists(st.integers(0, 2**64 - 1), unique=True, max_size=3000)


def _u64(values) -> np.ndarray:
    return np.array(values, dtype=np.uint64)


@settings(max_examples=examples(40), deadline=None)
@given(codes=CODES, cut=st.integers(0, 3000), probe=st.lists(st.integers(0, 2**64 - 1), max_size=50))
def test_find_equals_a_dict(codes, cut, probe):
    table = CodeTable()
    ref: dict[int, int] = {}
    for part in (codes[:cut], codes[cut:]):  # two inserts: the second may grow the table
        ids = np.arange(len(ref), len(ref) + len(part), dtype=np.int64)
        table.insert(_u64(part), ids)
        ref.update(zip(part, ids.tolist(), strict=True))
    asked = codes + probe
    assert table.find(_u64(asked)).tolist() == [ref.get(c, -1) for c in asked]
    assert table.size == len(ref)


def test_codes_with_one_home_slot_probe_past_the_end(monkeypatch):
    """Every code hashes to the last slot: probing wraps to slot 0 and goes on in windows."""
    monkeypatch.setattr(codetable, "_slot_hash", lambda c: np.full(len(c), 2**64 - 1, np.uint64))
    table = CodeTable()
    codes = _u64(range(100, 400))
    table.insert(codes[:150], np.arange(150))
    table.insert(codes[150:], np.arange(150, 300))
    assert table.find(codes).tolist() == list(range(300))
    assert table.find(_u64([7, 8])).tolist() == [-1, -1]
    table.filter(np.where(np.arange(300) % 2 == 0, np.arange(300) // 2, -1))
    assert table.find(codes).tolist() == [i // 2 if i % 2 == 0 else -1 for i in range(300)]


def test_growth_and_filter_renumber():
    rng = np.random.default_rng(3)
    codes = rng.permutation(50_000).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    table = CodeTable()
    for lo in range(0, len(codes), 1000):
        table.insert(codes[lo:lo + 1000], np.arange(lo, lo + 1000))
    assert (table.find(codes) == np.arange(len(codes))).all()
    keep = np.arange(len(codes)) % 3 != 0
    remap = np.full(len(codes), -1)
    remap[keep] = np.arange(int(keep.sum()))
    table.filter(remap)
    assert (table.find(codes) == remap).all()
    assert table.size == int(keep.sum())
