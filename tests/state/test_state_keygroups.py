"""Key groups: deterministic across processes, null-safe, Flink-style ranges."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from flowsql.operators.base import OperatorContext
from flowsql.state.keygroups import (
    filter_key_groups,
    key_group_range,
    key_groups,
    subtask_for_key_group,
)

TABLE = pa.table({
    "s": pa.array(["x", "yy", None, "", "x", "zz" * 40]),
    "i": pa.array([1, 2, 3, None, 1, -7], pa.int32()),
    "f": pa.array([0.0, -0.0, 1.5, None, 0.0, 2.0]),
    "t": pa.array([0, 1, 2, 3, 0, None], pa.timestamp("ms")),
    "d": pa.array([1, 2, 3, 4, 1, 5], pa.decimal128(10, 2)),
})


def test_equal_keys_same_group_and_range():
    kg = key_groups(TABLE, ["s", "i", "f", "t", "d"])
    assert kg.dtype == np.int32
    assert ((kg >= 0) & (kg < 128)).all()
    assert kg[0] == kg[4]
    assert key_groups(TABLE, ["f"])[0] == key_groups(TABLE, ["f"])[1]  # -0.0 == 0.0


def test_slices_and_chunks_hash_like_whole_arrays():
    whole = key_groups(TABLE, ["s", "i"])
    assert (key_groups(TABLE.slice(2), ["s", "i"]) == whole[2:]).all()
    chunked = pa.concat_tables([TABLE.slice(0, 3), TABLE.slice(3)])
    assert (key_groups(chunked, ["s", "i"]) == whole).all()
    assert (key_groups(TABLE, ["s"]) == key_groups(TABLE.cast(
        TABLE.schema.set(0, pa.field("s", pa.large_string()))), ["s"])).all()


def test_deterministic_across_processes():
    code = (
        "import pyarrow as pa; from flowsql.state.keygroups import key_groups;"
        "t = pa.table({'s': ['x', 'yy', None, 'abc'], 'i': [1, 2, 3, None]});"
        "print(key_groups(t, ['s', 'i']).tolist())"
    )
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
            for seed in (1, 2)}
    assert len(runs) == 1
    t = pa.table({"s": ["x", "yy", None, "abc"], "i": [1, 2, 3, None]})
    assert runs.pop().strip() == str(key_groups(t, ["s", "i"]).tolist())


def test_spreads_keys():
    t = pa.table({"k": np.arange(10_000)})
    counts = np.bincount(key_groups(t, ["k"]), minlength=128)
    assert counts.min() > 30


@pytest.mark.parametrize("parallelism", [1, 3, 4, 7, 128])
def test_ranges_cover_and_invert(parallelism):
    ranges = [key_group_range(i, parallelism) for i in range(parallelism)]
    assert ranges[0][0] == 0 and ranges[-1][1] == 128
    for (_, e), (s, _) in zip(ranges[:-1], ranges[1:], strict=True):
        assert e == s
    for i, (s, e) in enumerate(ranges):
        assert OperatorContext("x", i, parallelism).key_group_range == (s, e)
        for g in range(s, e):
            assert subtask_for_key_group(g, parallelism) == i


def test_filter_key_groups_partitions_rows():
    t = pa.table({"k": np.arange(1000)})
    parts = [filter_key_groups(t, ["k"], key_group_range(i, 3)) for i in range(3)]
    assert sum(p.num_rows for p in parts) == 1000
