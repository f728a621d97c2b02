"""Micro-benchmark of :class:`~flowsql.state.keyindex.KeyIndex`, the key → id dictionary of
every keyed operator: inserting K distinct keys and looking them up again.

For each K (default 10K, 1M, 10M) and key shape (``int``: one BIGINT column, the exact
path; ``str2``: a STRING and a BIGINT column, the hashed path), rows arrive in 8K-row
batches, each half keys seen before and half new ones, until K keys are known; then every
key is looked up once more (``insert=False``). Prints CPU-seconds of the process
(``time.process_time``) per phase and per million rows.

    taskset -c 0 .venv/bin/python bench/keyindex_micro.py [--keys 10000 1000000 10000000]
        [--shapes int str2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyarrow as pa

from flowsql.state.keyindex import KeyIndex

BATCH = 8192


def _table(shape: str, values: np.ndarray) -> pa.Table:
    if shape == "int":
        return pa.table({"k": values})
    return pa.table({"s": pa.array(values.astype(str)), "k": values % 1000})


def run(shape: str, keys: int) -> None:
    rng = np.random.default_rng(7)
    universe = rng.permutation(keys).astype(np.int64) * 7919 + 13  # distinct, unordered
    names = ["k"] if shape == "int" else ["s", "k"]
    index = KeyIndex(names)
    half = BATCH // 2
    batches = []
    for lo in range(0, keys, half):
        new = universe[lo:lo + half]
        old = universe[rng.integers(0, max(lo, 1), half)] if lo else new
        batches.append(_table(shape, np.concatenate([old, new])))
    rows = sum(b.num_rows for b in batches)
    c0 = time.process_time()
    for b in batches:
        index.lookup(b)
    insert_s = time.process_time() - c0
    assert index.size == keys, (index.size, keys)
    c0 = time.process_time()
    for lo in range(0, keys, BATCH):
        ids = index.lookup(_table(shape, universe[lo:lo + BATCH]), insert=False)
        assert (ids >= 0).all()
    lookup_s = time.process_time() - c0
    print(f"{shape:5s} {keys:>11,} keys  insert {insert_s:7.2f} CPU-s "
          f"({insert_s / rows * 1e6:6.2f} s/M rows)  lookup {lookup_s:7.2f} CPU-s "
          f"({lookup_s / keys * 1e6:6.2f} s/M keys)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, nargs="+", default=[10_000, 1_000_000, 10_000_000])
    ap.add_argument("--shapes", nargs="+", default=["int", "str2"], choices=["int", "str2"])
    args = ap.parse_args()
    for shape in args.shapes:
        for k in args.keys:
            run(shape, k)


if __name__ == "__main__":
    main()
