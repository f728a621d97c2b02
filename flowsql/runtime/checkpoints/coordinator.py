"""The JobManager's checkpoint coordinator for one job (Flink's CheckpointCoordinator, small).

Contract, step by step:
1. :meth:`CheckpointCoordinator.tick` (called by the JobManager's monitor, a few times a
   second) triggers checkpoint *n* when checkpointing is on, no checkpoint is pending, the
   interval has passed since the last trigger and the min-pause since the last one ended,
   and every task of the job still runs (a job whose tasks began to finish takes no more
   checkpoints). Triggering asks each source task for barrier *n* through ``trigger``.
2. Every task acknowledges *n* once it has written its state (:meth:`on_ack`); the
   checkpoint is complete when every task acknowledged without error: then its metadata
   (checkpoint id, job id, time, size, duration and each operator uid's parallelism) is
   written last and atomically (:meth:`~.storage.CheckpointStorage.complete`), and
   checkpoints beyond ``state.checkpoints.num-retained`` are deleted, oldest first.
3. A checkpoint fails when a task declines it (an ack with an error: its state could not be
   written), or when it takes longer than the timeout. Its files are deleted. A checkpoint
   that could not be triggered (a source task is gone) or that a restart cut short is
   aborted instead: it does not count as a failure, as in Flink. More than ``tolerable-failed-checkpoints`` failures in a row make
   ``tick`` / ``on_ack`` return a failure reason: the JobManager then fails the job. A
   complete checkpoint resets the count.
4. When the job ends, its checkpoints are kept or deleted as the retention option says
   (:meth:`job_ended`).
5. Checkpoint ids keep increasing across restarts and JobManager restarts: the first id is
   one past the latest complete checkpoint in storage.
6. Savepoints (:meth:`trigger_savepoint`) are checkpoints written to a directory of their
   own: they never become the job's latest checkpoint, are never pruned or deleted with the
   job, and a failed one fails no job.
Stats (:attr:`history`, :attr:`counts`) feed SHOW JOBS, REST and metrics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flowsql.runtime.checkpoints.options import CheckpointOptions
from flowsql.runtime.checkpoints.storage import (
    CheckpointStorage,
    CompletedCheckpoint,
    complete_at,
    discard_at,
)
from flowsql.runtime.descriptors import CheckpointAck

log = logging.getLogger("flowsql.runtime")
HISTORY = 20


@dataclass
class CheckpointStats:
    checkpoint_id: int
    status: str  # IN_PROGRESS | COMPLETED | FAILED
    trigger_time: float  # epoch s
    end_time: float | None = None
    size: int = 0
    acknowledged: int = 0
    total: int = 0
    failure: str | None = None
    path: str | None = None
    alignment_ms: int = 0  # the longest barrier alignment of any task
    savepoint: bool = False

    @property
    def duration_ms(self) -> int:
        end = self.end_time if self.end_time is not None else time.time()
        return int((end - self.trigger_time) * 1000)


@dataclass
class _Pending:
    stats: CheckpointStats
    waiting: set[str]
    started: float  # monotonic
    target: str | None = None  # a savepoint's directory
    done: threading.Event = field(default_factory=threading.Event)
    result: str | None = None  # the savepoint's path once complete
    failure: str | None = None


@dataclass
class CheckpointCounts:
    triggered: int = 0
    completed: int = 0
    failed: int = 0


@dataclass
class CheckpointCoordinator:
    job_id: str
    options: CheckpointOptions
    storage: CheckpointStorage | None  # None: no checkpoint directory (savepoints only)
    parallelism: Mapping[str, int]  # operator uid -> parallelism
    # asks the sources for barrier n (savepoint dir, stop after it, drain = final watermark
    # before it); returns those not asked
    trigger: Callable[[int, str | None, bool, bool], list[str]]
    on_complete: Callable[[CompletedCheckpoint], None] = lambda c: None
    history: list[CheckpointStats] = field(default_factory=list)
    counts: CheckpointCounts = field(default_factory=CheckpointCounts)
    latest: CompletedCheckpoint | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: _Pending | None = None
        self._last_trigger = time.monotonic()  # the first checkpoint comes one interval in
        self._last_end = 0.0
        self._failures = 0
        self.latest = self.storage.latest() if self.storage is not None else None
        self._next_id = (self.latest.checkpoint_id if self.latest else 0) + 1

    # -- 1. trigger ------------------------------------------------------------------------
    def tick(self, tasks: list[str], all_running: bool) -> str | None:
        """Trigger when due; time out a pending checkpoint. Returns a reason to fail the job
        when too many checkpoints failed in a row."""
        now = time.monotonic()
        with self._lock:
            pending = self._pending
        if pending is not None:
            if now - pending.started > self.options.timeout_s:
                return self._fail(pending, f"checkpoint {pending.stats.checkpoint_id} expired "
                                           f"before completing ({self.options.timeout_s:g} s)")
            return None
        if not all_running or not self.options.enabled:
            return None
        if now - self._last_trigger < self.options.interval_s:
            return None
        if now - self._last_end < self.options.min_pause_s:
            return None
        with self._lock:
            n = self._next_id
            self._next_id += 1
            stats = CheckpointStats(n, "IN_PROGRESS", time.time(), total=len(tasks))
            self._pending = _Pending(stats, set(tasks), now)
            self._last_trigger = now
            self.counts.triggered += 1
            self._remember(stats)
        missed = self.trigger(n, None, False, False)
        if missed:  # a task is gone: failover handles it; not a checkpoint failure (Flink)
            self.abort_pending(f"could not trigger checkpoint {n} at source task(s) "
                               f"{', '.join(missed)}")
        return None

    def trigger_savepoint(self, tasks: list[str], target: str, stop: bool,
                          drain: bool = False) -> _Pending:
        """Take a savepoint into ``target`` now (a pending checkpoint is aborted first);
        wait on the result's ``done``, then read ``result`` (its path) or ``failure``. With
        ``stop`` the sources emit nothing after its barrier; with ``drain`` they emit the
        final watermark just before it."""
        self.abort_pending("a savepoint was requested")
        with self._lock:
            n = self._next_id
            self._next_id += 1
            stats = CheckpointStats(n, "IN_PROGRESS", time.time(), total=len(tasks),
                                    savepoint=True)
            pending = _Pending(stats, set(tasks), time.monotonic(), target=target)
            self._pending = pending
            self.counts.triggered += 1
            self._remember(stats)
        missed = self.trigger(n, target, stop, drain)
        if missed:
            self._fail(pending, f"could not trigger savepoint {n} at source task(s) "
                                f"{', '.join(missed)}", count=False)
        return pending

    # -- 2. acknowledgements ---------------------------------------------------------------
    def on_ack(self, ack: CheckpointAck) -> str | None:
        with self._lock:
            pending = self._pending
            if pending is None or pending.stats.checkpoint_id != ack.checkpoint_id:
                return None  # late or stale: that checkpoint already ended
            if ack.error is not None:
                failure = f"task {ack.task_id} declined checkpoint {ack.checkpoint_id}: {ack.error}"
            else:
                failure = None
                pending.waiting.discard(ack.task_id)
                pending.stats.acknowledged += 1
                pending.stats.size += ack.size
                pending.stats.alignment_ms = max(pending.stats.alignment_ms, ack.alignment_ms)
                if pending.waiting:
                    return None
        if failure is not None:
            return self._fail(pending, failure)
        return self._complete(pending)

    def _complete(self, pending: _Pending) -> str | None:
        stats = pending.stats
        n = stats.checkpoint_id
        metadata = {
            "checkpoint_id": n,
            "job_id": self.job_id,
            "timestamp": stats.trigger_time,
            "size": stats.size,
            "duration_ms": stats.duration_ms,
            "savepoint": pending.target is not None,
            "operators": {uid: {"parallelism": p} for uid, p in self.parallelism.items()},
        }
        try:
            if pending.target is not None:
                done = complete_at(pending.target, metadata)
            else:
                assert self.storage is not None
                done = self.storage.complete(n, metadata)
        except Exception as e:  # noqa: BLE001 - e.g. a full disk: the checkpoint fails
            return self._fail(pending, f"writing the metadata of checkpoint {n} failed: {e}")
        with self._lock:
            self._pending = None
            self._last_end = time.monotonic()
            self._failures = 0
            stats.status, stats.end_time, stats.path = "COMPLETED", time.time(), done.path
            self.counts.completed += 1
            if pending.target is None:
                self.latest = done
        log.info("job %s: %s %d complete (%d bytes, %d ms)", self.job_id,
                 "savepoint" if pending.target else "checkpoint", n, stats.size,
                 stats.duration_ms)
        if pending.target is None:
            self._prune()
        self.on_complete(done)
        pending.result = done.path
        pending.done.set()
        return None

    # -- 3. failures -----------------------------------------------------------------------
    def _fail(self, pending: _Pending, reason: str, count: bool = True) -> str | None:
        with self._lock:
            if self._pending is not pending:
                return None
            self._pending = None
            self._last_end = time.monotonic()
            count = count and pending.target is None  # a failed savepoint fails no job
            if count:
                self._failures += 1
            self.counts.failed += 1
            failures = self._failures
        log.warning("job %s: %s", self.job_id, reason)
        self._ended_failed(pending, reason)
        if count and failures > self.options.tolerable_failures:
            return (f"{reason}; {failures} checkpoint failure(s) in a row exceed "
                    f"execution.checkpointing.tolerable-failed-checkpoints = "
                    f"{self.options.tolerable_failures}")
        return None

    def abort_pending(self, reason: str) -> None:
        """The job restarts or stops: a pending checkpoint can no longer complete (not
        counted as a checkpoint failure)."""
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self._ended_failed(pending, reason)

    def _ended_failed(self, pending: _Pending, reason: str) -> None:
        """Record why ``pending`` (no longer pending) failed, delete what it wrote, wake its
        waiters."""
        pending.stats.status, pending.stats.end_time = "FAILED", time.time()
        pending.stats.failure = reason
        if pending.target is not None:
            discard_at(pending.target)
        elif self.storage is not None:
            self.storage.discard(pending.stats.checkpoint_id)
        pending.failure = reason
        pending.done.set()

    def job_ended(self, state: str) -> None:
        """Retention (``externalized-checkpoint-retention``): NO_EXTERNALIZED_CHECKPOINTS
        deletes the job's checkpoints when it ends in any state, DELETE_ON_CANCELLATION keeps
        them only when it FAILED, RETAIN_ON_CANCELLATION always keeps them."""
        self.abort_pending(f"the job ended ({state})")
        retention = self.options.retention
        if self.storage is None or retention == "RETAIN_ON_CANCELLATION" or (
                retention == "DELETE_ON_CANCELLATION" and state == "FAILED"):
            return
        for done in self.storage.completed():
            self.storage.discard(done.checkpoint_id)

    def restarted(self) -> None:
        """After a restart the next checkpoint comes one interval later."""
        with self._lock:
            self._last_trigger = time.monotonic()

    # -- helpers -------------------------------------------------------------------------
    def _remember(self, stats: CheckpointStats) -> None:
        self.history.append(stats)
        del self.history[:-HISTORY]

    def _prune(self) -> None:
        if self.storage is None:
            return
        done = self.storage.completed()
        for old in done[: max(0, len(done) - self.options.num_retained)]:
            self.storage.discard(old.checkpoint_id)
