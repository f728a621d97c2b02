"""Hash exchange routing: rows of one key always reach the same subtask."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from flowsql.errors import ValidationError
from flowsql.messages import Watermark
from flowsql.operators.base import OperatorContext
from flowsql.runtime.partitioning import route, split_by_target
from flowsql.runtime.taskmanager.channels import InProcessInputGate
from flowsql.runtime.taskmanager.outputs import EdgeWriter, TaskOutput
from flowsql.state.keygroups import key_groups


def _batch(n: int, seed: int) -> pa.RecordBatch:
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 50, n)
    return pa.record_batch(
        {
            "k": pa.array([f"user-{k}" for k in keys]),
            "n": pa.array(keys, pa.int64()),
            "row": pa.array(np.arange(n)),
        }
    )


def test_keys_stay_together_across_batches():
    owner: dict[str, int] = {}
    for seed in range(5):
        batch = _batch(1000, seed)
        targets = route(batch, ["k"], 3)
        assert targets.min() >= 0 and targets.max() < 3
        for key, target in zip(batch.column("k").to_pylist(), targets.tolist(), strict=True):
            assert owner.setdefault(key, target) == target
    assert len(set(owner.values())) == 3  # 50 keys spread over 3 subtasks


def test_route_matches_key_group_ranges():
    batch = _batch(2000, 1)
    groups = key_groups(batch, ["k", "n"])
    targets = route(batch, ["k", "n"], 4)
    for sub in range(4):
        lo, hi = OperatorContext("op", subtask_index=sub, parallelism=4).key_group_range
        assert ((groups >= lo) & (groups < hi) == (targets == sub)).all()


def test_split_by_target_keeps_order_and_rows():
    batch = _batch(500, 2)
    targets = route(batch, ["k"], 3)
    parts = split_by_target(batch, targets, 3)
    assert sum(p.num_rows for p in parts if p is not None) == 500
    for sub, part in enumerate(parts):
        rows = part.column("row").to_numpy()
        assert (np.diff(rows) > 0).all()  # original order within each target
        assert (targets[rows] == sub).all()
    only = split_by_target(batch, np.full(500, 1), 3)
    assert only[0] is None and only[1] is batch and only[2] is None


def test_missing_key_column():
    with pytest.raises(ValidationError, match="nope"):
        route(_batch(10, 0), ["nope"], 2)


def test_edge_writers_partition_and_broadcast_control_messages():
    gates = [InProcessInputGate(f"g{i}", 1, capacity=100) for i in range(2)]
    hash_edge = EdgeWriter("hash", [g.writer(0) for g in gates], ("k",))
    out = TaskOutput([hash_edge])
    batch = _batch(300, 3)
    out.emit(batch)
    out.emit(batch.slice(0, 0))  # empty batches are never sent
    out.broadcast(Watermark(5))
    received = []
    for g in gates:
        msgs = [g.get(timeout=1)[1] for _ in range(g.pending())]
        assert msgs[-1] == Watermark(5)
        received.append(pa.Table.from_batches(msgs[:-1]))
    assert received[0].num_rows + received[1].num_rows == 300
    assert not set(received[0].column("k").to_pylist()) & set(received[1].column("k").to_pylist())

    rr_gates = [InProcessInputGate(f"r{i}", 1, capacity=100) for i in range(3)]
    rebalance = EdgeWriter("rebalance", [g.writer(0) for g in rr_gates], start=1)
    for _ in range(6):
        rebalance.emit(batch)
    assert [g.pending() for g in rr_gates] == [2, 2, 2]
    bc_gates = [InProcessInputGate(f"b{i}", 1, capacity=100) for i in range(2)]
    EdgeWriter("broadcast", [g.writer(0) for g in bc_gates]).emit(batch)
    assert [g.pending() for g in bc_gates] == [1, 1]
