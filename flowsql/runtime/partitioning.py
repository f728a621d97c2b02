"""Routing rows of a hash exchange to downstream subtasks, vectorized.

Contract:
- Key groups come from :mod:`flowsql.state.keygroups` (the same function keyed state uses),
  so an exchange sends a row to exactly the subtask that owns its key group: all rows of one
  key reach the same subtask, in every batch, run and process.
- :func:`route` gives the target subtask index per row (Flink's
  ``kg * parallelism // max_parallelism``).
- :func:`split_by_target` reorders a batch once (stable ``argsort`` + one ``take``) and slices
  it into one zero-copy batch per target; row order within a target is preserved.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from flowsql.errors import ValidationError
from flowsql.operators.base import MAX_PARALLELISM
from flowsql.state.keygroups import key_groups, subtask_for_key_group


def route(
    batch: pa.RecordBatch,
    keys: Sequence[str],
    parallelism: int,
    max_parallelism: int = MAX_PARALLELISM,
) -> np.ndarray:
    """Target subtask (int64) of every row of ``batch`` by its ``keys``."""
    missing = [k for k in keys if batch.schema.get_field_index(k) < 0]
    if missing or not keys:
        raise ValidationError(
            f"hash exchange key column(s) {', '.join(missing) or '(none)'} not in batch columns: "
            + ", ".join(batch.schema.names)
        )
    groups = key_groups(batch, keys, max_parallelism).astype(np.int64)
    return np.asarray(subtask_for_key_group(groups, parallelism, max_parallelism))


def split_by_target(
    batch: pa.RecordBatch, targets: np.ndarray, num_targets: int
) -> list[pa.RecordBatch | None]:
    """One batch per target (None where a target gets no rows), row order kept per target."""
    if num_targets == 1:
        return [batch]
    counts = np.bincount(targets, minlength=num_targets)
    nonzero = np.flatnonzero(counts)
    if len(nonzero) == 1:
        out: list[pa.RecordBatch | None] = [None] * num_targets
        out[int(nonzero[0])] = batch
        return out
    order = np.argsort(targets, kind="stable")
    ordered = batch.take(pa.array(order))
    bounds = np.concatenate(([0], np.cumsum(counts)))
    return [
        ordered.slice(int(bounds[i]), int(counts[i])) if counts[i] else None
        for i in range(num_targets)
    ]
