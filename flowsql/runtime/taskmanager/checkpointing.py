"""A task's part of a checkpoint: barrier alignment, snapshots, restore.

Contract:
- :class:`BarrierAligner` (tasks reading an input gate; Chandy–Lamport with aligned
  barriers, as Flink does): when barrier *n* arrives on a channel, that channel is blocked in
  the gate (:meth:`~flowsql.runtime.taskmanager.channels.InputGate.block`) until barrier *n*
  arrived on every channel that has not ended; then the task snapshots and forwards *n*, and
  every channel is unblocked. A barrier older than the one being aligned is dropped; a newer
  one abandons the older alignment (that checkpoint can no longer complete) and starts its
  own. A channel that ends (``EndOfInput``) while the others align counts as aligned.
- :class:`TaskSnapshots` writes the snapshot of a chain: every operator's ``snapshot(n)``
  tables, and for a source head its split positions (table ``positions``: ``split``,
  ``position`` as JSON), to the job's :class:`~..checkpoints.storage.CheckpointStorage` under
  the operator's uid (its plan id) and the subtask index. It returns the bytes written.
  The snapshot is taken on the task thread at the barrier; writing it and acknowledging run
  on the task's uploader thread, in checkpoint order, off the data path.
- Restore: :func:`restore_chain` gives each operator of a freshly built, opened chain its
  tables from the checkpoint named by the descriptor (``desc.restore``); a source head gets
  the positions of *every* subtask of its uid, so a source restored at another parallelism
  still finds the splits it now owns. A keyed operator (``state_keys``: its key columns)
  restored at a parallelism other than the checkpoint's gets the rows of every old subtask
  whose key group it now owns (rescaling); state without key columns is refused with an error
  naming the operator, except an operator whose ``state_keys`` is :data:`TO_FIRST` (a sink's
  uncommitted files): subtask 0 gets every old subtask's tables.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.fs as pafs

from flowsql.errors import ExecutionError
from flowsql.runtime.checkpoints.options import checkpoint_options
from flowsql.runtime.checkpoints.storage import (
    CheckpointStorage,
    _filesystem,
    read_state,
    write_state_at,
)
from flowsql.runtime.descriptors import TaskDeploymentDescriptor
from flowsql.state.keygroups import key_group_range, key_groups

TO_FIRST = "to-first"  # an operator's ``state_keys``: unkeyed state, all of it to subtask 0


class BarrierAligner:
    """Tracks which channels delivered the barrier being aligned (see module contract)."""

    def __init__(self, num_channels: int) -> None:
        self.num_channels = num_channels
        self.ended: set[int] = set()
        self.pending: int | None = None
        self.seen: set[int] = set()
        self.last_done = 0
        self.started = 0.0  # monotonic time the pending alignment began
        self.target: str | None = None  # the pending checkpoint's savepoint directory
        self.last_alignment_s = 0.0  # how long the last finished alignment took

    def on_barrier(self, channel: int, checkpoint_id: int, target: str | None = None) -> str:
        """``"drop"`` (stale), ``"block"`` (block this channel and wait), or ``"done"``
        (every live channel delivered it: snapshot and forward)."""
        if checkpoint_id <= self.last_done or (
            self.pending is not None and checkpoint_id < self.pending
        ):
            return "drop"
        if self.pending != checkpoint_id:
            self.pending, self.seen = checkpoint_id, set()
            self.started = time.monotonic()
            self.target = target
        self.seen.add(channel)
        return "done" if self._complete() else "block"

    def on_end(self, channel: int) -> bool:
        """A channel ended; True when that completes the pending alignment."""
        self.ended.add(channel)
        return self.pending is not None and self._complete()

    def finish(self) -> int:
        done, self.pending, self.seen = self.pending or 0, None, set()
        self.last_alignment_s = time.monotonic() - self.started
        self.last_done = max(self.last_done, done)
        return done

    def _complete(self) -> bool:
        return len(self.seen | self.ended) >= self.num_channels


def positions_table(positions: dict[str, Any]) -> pa.Table:
    splits = sorted(positions)
    return pa.table({
        "split": pa.array(splits, pa.string()),
        "position": pa.array([orjson.dumps(positions[s]).decode() for s in splits], pa.string()),
    })


def positions_from(table: pa.Table) -> dict[str, Any]:
    splits = table.column("split").to_pylist()
    values = table.column("position").to_pylist()
    return {s: orjson.loads(v) for s, v in zip(splits, values, strict=True)}


class TaskSnapshots:
    """Writes a task's snapshots; :meth:`submit` runs uploads on one thread of its own, in
    order, so the task thread goes on while large state is written."""

    def __init__(self, desc: TaskDeploymentDescriptor) -> None:
        self.desc = desc
        self._storage: CheckpointStorage | None = None
        self._uploader: ThreadPoolExecutor | None = None

    def submit(self, upload: Callable[[], None]) -> None:
        if self._uploader is None:
            self._uploader = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=f"flowsql-upload {self.desc.task_id}")
        self._uploader.submit(upload)

    def close(self, wait: bool) -> None:
        """Finish the queued uploads (``wait``) or drop those not started."""
        if self._uploader is not None:
            self._uploader.shutdown(wait=wait, cancel_futures=not wait)

    @property
    def storage(self) -> CheckpointStorage:
        if self._storage is None:
            options = checkpoint_options(self.desc.config)
            if not options.directory:
                raise ExecutionError("a checkpoint was triggered but no checkpoint directory is set")
            self._storage = CheckpointStorage(options.directory, self.desc.job_id)
        return self._storage

    def write(self, checkpoint_id: int, states: dict[str, dict[str, pa.Table]],
              target: str | None = None) -> int:
        """Write every operator's tables; to ``target`` for a savepoint."""
        size = 0
        for uid, tables in states.items():
            if not tables:
                continue
            if target is not None:
                size += write_state_at(target, uid, self.desc.subtask_index, tables)
            else:
                size += self.storage.write_state(checkpoint_id, uid, self.desc.subtask_index,
                                                 tables)
        return size


def _subtasks(checkpoint: str, uid: str) -> list[int]:
    fs, folder = _filesystem(checkpoint)
    infos = fs.get_file_info(pafs.FileSelector(posixpath.join(folder, uid), allow_not_found=True))
    return sorted(int(i.base_name) for i in infos if i.base_name.isdigit())


def restore_state(desc: TaskDeploymentDescriptor, uid: str, source: bool,
                  parallelism_then: int | None,
                  state_keys: list[str] | None = None) -> dict[str, pa.Table]:
    """The tables operator ``uid`` of this subtask restores from ``desc.restore``."""
    checkpoint = desc.restore
    assert checkpoint is not None
    if source:
        parts = [read_state(checkpoint, uid, i).get("positions") for i in _subtasks(checkpoint, uid)]
        parts = [p for p in parts if p is not None]
        return {"positions": pa.concat_tables(parts)} if parts else {}
    if parallelism_then is None or parallelism_then == desc.parallelism:
        return read_state(checkpoint, uid, desc.subtask_index)
    return _rescaled(desc, checkpoint, uid, state_keys)


def _rescaled(desc: TaskDeploymentDescriptor, checkpoint: str, uid: str,
              keys: list[str] | str | None) -> dict[str, pa.Table]:
    """Keyed state of ``uid`` at a new parallelism: every old subtask's tables, each row kept
    by the subtask that now owns its key group (the hash exchange routes the same way). The
    ``meta`` table keeps the row with the lowest watermark, so no row is judged late that
    would not have been. Unkeyed state cannot be split: restoring it elsewhere is refused."""
    parts = [read_state(checkpoint, uid, i) for i in _subtasks(checkpoint, uid)]
    parts = [p for p in parts if p]
    if not parts:
        return {}
    if keys == TO_FIRST:  # e.g. a sink's uncommitted files: subtask 0 takes them all
        if desc.subtask_index != 0:
            return {}
        names = sorted({n for p in parts for n in p})
        return {n: pa.concat_tables([p[n] for p in parts if n in p]) for n in names}
    if not isinstance(keys, list):
        raise ExecutionError(
            f"operator {uid} has state that cannot be redistributed to parallelism "
            f"{desc.parallelism} (it is not keyed)", operator_id=uid)
    start, end = key_group_range(desc.subtask_index, desc.parallelism, desc.max_parallelism)
    out: dict[str, pa.Table] = {}
    for name in sorted({n for p in parts for n in p}):
        tables = [p[name] for p in parts if name in p]
        if name == "meta" and "watermark" in tables[0].column_names:
            out[name] = min(tables, key=lambda t: t.column("watermark")[0].as_py())
        elif name in ("meta", "input_schema"):
            out[name] = tables[0]
        elif not keys:  # a global aggregate: one group, owned by key group 0's subtask
            out[name] = pa.concat_tables(tables) if start == 0 else tables[0].slice(0, 0)
        elif all(k in tables[0].column_names for k in keys):
            table = pa.concat_tables(tables)
            groups = key_groups(table, keys, desc.max_parallelism)
            out[name] = table.filter(pa.array((groups >= start) & (groups < end)))
        else:
            raise ExecutionError(
                f"operator {uid}: state table '{name}' has no key columns "
                f"({', '.join(keys)}) to redistribute by", operator_id=uid)
    return out
