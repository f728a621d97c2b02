"""The JobManager: TaskManager registry, slot scheduling, job lifecycle, failure detection.

Contract:
- TaskManagers register (:meth:`JobManager.register_task_manager`) with their slots, their
  data address and a gateway the JobManager deploys and cancels through (method calls for an
  embedded TaskManager, Arrow Flight actions for a TaskManager process). Each registration
  gets a new number; reports carrying an older one come from a fenced TaskManager and are
  ignored (a heartbeat answers ``{"status": "unknown"}`` so it cancels its tasks and
  registers again).
- :meth:`submit` validates the graph and records the job CREATED. The scheduler places the
  job's shared slots (subtask ``i`` of every chain in slot ``i``), spread over TaskManagers
  (:mod:`.scheduler`); while slots are missing the
  job waits in CREATED with a ``reason``, up to ``slot.request.timeout`` (job config, default
  :data:`DEFAULT_SLOT_REQUEST_TIMEOUT_S`), then ends FAILED "needs N slots, the cluster has M
  free". A cluster that can never have enough slots (``fixed_slots``: the embedded
  MiniCluster) fails the submission at once with that error. Placed jobs go RUNNING and their
  task deployment descriptors (plain data with addresses) are deployed.
- A job ends FINISHED when every task finished; when a task fails the job goes FAILING, the
  other tasks are cancelled and it ends FAILED with the task's ExecutionError (naming the
  operator); :meth:`cancel` goes CANCELLING -> CANCELED (a waiting job: CANCELED at once).
- Failure detection: a TaskManager process that sends no heartbeat for ``heartbeat_timeout``
  seconds is declared lost: it leaves the registry, and every job with tasks on it fails with
  a reason naming the TaskManager and its address.
- Metrics: :meth:`metrics` sums per-operator records in/out and late records over subtasks
  (running tasks: live from the TaskManager, or its last heartbeat; ended tasks: the final
  counts they reported), keeps the minimum input watermark in ``extra["watermark"]``,
  sums the tasks' ``busy_ms`` / ``backpressured_ms`` / ``credits`` into ``extra`` with the
  fullest subtask's input ``channel_fill`` (0..1), and keeps the flow control maxima tasks
  report (``max_in_flight``, ``max_queued``: the largest; ``capacity``, ``queue_capacity``:
  the smallest) in ``extra`` under those keys;
  :meth:`totals` gives job-level counts (SHOW JOBS).
- Job resources (in-process objects such as a ``CollectResult``; embedded clients only) are
  handed to the tasks; on FAILING/CANCELLING the JobManager calls their ``abort()`` and at the
  end their ``on_job_end(state, error)``, after which the job lets go of them (an ended job
  stays listed, but its client's result buffer is the client's alone). A remote client's SELECT (``result=True``) instead
  gets a result gate ``"<job>/result"`` in :attr:`gates`, which the collect sinks write to.
- Ended jobs (FINISHED, FAILED, CANCELED) stay listed, the latest ``max_finished_jobs``
  (1,000) of them; older ones are forgotten, from the store too (Flink bounds its job history
  with ``jobstore.max-capacity`` / ``jobstore.expiration-time``), so a long-running gateway
  or cluster does not grow with every query it ever ran.
- With a ``store`` every job's graph, config and status are kept on disk, so a restarted
  JobManager still lists its jobs; a job that was running when it stopped resumes from its
  latest complete checkpoint (checkpointing on), else it is listed FAILED ("the JobManager
  stopped"). Registration numbers start from the store's epoch, so TaskManager reports made
  under an earlier JobManager are ignored.
- Fault tolerance (:mod:`flowsql.runtime.checkpoints`): a job with checkpointing on has a
  coordinator the monitor ticks; a task failure or a lost TaskManager puts the job in
  RESTARTING when its restart strategy allows, and the next attempt restores the latest
  complete checkpoint; ``stop_with_savepoint`` / ``trigger_savepoint`` take savepoints.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from flowsql.errors import ExecutionError, QueryCancelled, UnknownJobError
from flowsql.operators.base import OperatorMetrics
from flowsql.physical.graph import JobGraph
from flowsql.runtime.checkpoints.coordinator import (
    CheckpointCoordinator,
    CheckpointCounts,
    CheckpointStats,
)
from flowsql.runtime.checkpoints.options import (
    CheckpointOptions,
    checkpoint_options,
    restart_options,
)
from flowsql.runtime.checkpoints.restarts import RestartPolicy
from flowsql.runtime.checkpoints.storage import (
    CheckpointStorage,
    CompletedCheckpoint,
    checkpoint_id_of,
    join,
    open_checkpoint,
    state_uids,
)
from flowsql.runtime.descriptors import (
    JOBMANAGER,
    CheckpointAck,
    TaskDeploymentDescriptor,
    TaskReport,
)
from flowsql.runtime.jobmanager.deployment import (
    build_descriptors,
    collect_parallelism,
    result_gate,
    task_ids,
    task_ids_of_chain,
)
from flowsql.runtime.jobmanager.scheduler import NotEnoughSlots, schedule, slot_key
from flowsql.runtime.jobmanager.states import JobState, transition
from flowsql.runtime.jobmanager.store import JobStore
from flowsql.runtime.network.gates import GateRegistry
from flowsql.runtime.process_stats import process_stats
from flowsql.runtime.taskmanager.channels import DEFAULT_CAPACITY, InProcessInputGate

log = logging.getLogger("flowsql.runtime")

DEFAULT_SLOT_REQUEST_TIMEOUT_S = 300.0
SUMMED_EXTRAS = ("busy_ms", "backpressured_ms", "credits", "malformed_records")
# flow control maxima of tasks (Task.metrics): the worst over subtasks
_FLOW_KEYS = {"max_in_flight": max, "capacity": min, "max_queued": max, "queue_capacity": min}
DEFAULT_HEARTBEAT_TIMEOUT_S = 10.0
MAX_FINISHED_JOBS = 1000  # ended jobs kept listed (the oldest are forgotten first)


class TaskManagerGateway(Protocol):
    """How the JobManager reaches one TaskManager."""

    remote: bool

    def deploy(self, desc: TaskDeploymentDescriptor, resources: Mapping[str, Any]) -> None: ...

    def cancel(self, task_id: str) -> None: ...

    def task_metrics(self, task_ids: list[str]) -> dict[str, dict[str, dict[str, int]]]: ...


@dataclass(frozen=True)
class JobInfo:
    job_id: str
    name: str
    state: str
    start_time: float | None
    end_time: float | None
    error: str | None = None
    operator_id: str | None = None
    reason: str | None = None
    restarts: int = 0
    last_checkpoint: int | None = None  # id of the latest complete checkpoint


@dataclass(frozen=True)
class JobTotals:
    """``records_in``: rows the sources emitted; ``records_out``: rows the sinks received (a
    late-data side output is not a sink: its rows are in ``late_records``);
    ``late_records``: rows window operators found late (dropped, or sent to the late-data
    sink), summed over operators and subtasks; ``malformed_records``: records the sources
    skipped as malformed (lenient formats)."""

    records_in: int = 0
    records_out: int = 0
    late_records: int = 0
    malformed_records: int = 0


@dataclass(frozen=True)
class CheckpointView:
    """What REST and metrics show of a job's checkpoints: the recent history (oldest first),
    the counts, the last restore (checkpoint id, epoch s, path) and how many restores."""

    history: list[CheckpointStats]
    counts: CheckpointCounts
    restored: tuple[int, float, str] | None
    restores: int


TM_RUNNING = "RUNNING"
TM_LOST = "LOST"


@dataclass(frozen=True)
class TaskManagerInfo:
    """One TaskManager as the JobManager sees it: ``last_heartbeat`` in epoch seconds (an
    in-process TaskManager needs none: "now"); ``rss_bytes`` / ``cpu_seconds`` of its process
    as last reported (None when unknown); ``state`` RUNNING or LOST; ``cpu_cores`` and
    ``physical_memory_bytes`` of its host when known."""

    tm_id: str
    host: str
    data_port: int
    slots: int
    free_slots: int
    last_heartbeat: float
    rss_bytes: int | None
    cpu_seconds: float | None
    state: str = TM_RUNNING
    cpu_cores: int | None = None
    physical_memory_bytes: int | None = None


@dataclass
class _TaskManager:
    tm_id: str
    slots: int
    gateway: TaskManagerGateway
    host: str
    data_port: int
    location: str
    registration: int
    last_heartbeat: float
    tasks: set[str] = field(default_factory=set)
    metrics: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    process: dict[str, Any] = field(default_factory=dict)

    @property
    def free(self) -> int:
        return self.slots - len({slot_key(t) for t in self.tasks})

    def address(self) -> str:
        return f"{self.host}:{self.data_port}" if self.data_port else self.host


@dataclass
class _Job:
    job_id: str
    graph: JobGraph
    resources: Mapping[str, Any]
    config: dict[str, str]
    result: bool = False
    state: JobState = JobState.CREATED
    submit_time: float = field(default_factory=time.time)
    start_time: float | None = None
    end_time: float | None = None
    error: ExecutionError | None = None
    error_details: str | None = None
    reason: str | None = None
    placement: dict[str, str] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    final_metrics: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    stored_totals: JobTotals | None = None
    done: threading.Event = field(default_factory=threading.Event)
    coordinator: CheckpointCoordinator | None = None
    policy: RestartPolicy | None = None
    attempt: int = 0
    restore: str | None = None  # what the next deployment restores from
    restart_at: float | None = None  # monotonic time of the pending restart
    restored: tuple[int, float, str] | None = None  # last restore: (checkpoint id, time, path)
    restores: int = 0
    resumable: bool = False  # loaded from the store while it ran: resume from a checkpoint
    sources: list[str] = field(default_factory=list)  # the source tasks' ids
    stopped_with_savepoint: bool = False  # its tasks are cancelled after a savepoint: FINISHED

    def info(self) -> JobInfo:
        return JobInfo(
            job_id=self.job_id,
            name=self.graph.name,
            state=str(self.state),
            start_time=self.start_time,
            end_time=self.end_time,
            error=self.error.render() if self.error else None,
            operator_id=self.error.operator_id if self.error else None,
            reason=self.reason if self.state in (JobState.CREATED, JobState.RESTARTING) else None,
            restarts=self.attempt,
            last_checkpoint=(self.coordinator.latest.checkpoint_id
                             if self.coordinator is not None and self.coordinator.latest
                             else None),
        )

    def slot_timeout(self) -> float:
        from flowsql.runtime.jobmanager.durations import seconds

        return seconds(self.config.get("slot.request.timeout"), DEFAULT_SLOT_REQUEST_TIMEOUT_S)


class JobManager:
    def __init__(
        self,
        *,
        channel_capacity: int = DEFAULT_CAPACITY,
        heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT_S,
        fixed_slots: bool = False,
        location: str = "",
        gates: GateRegistry | None = None,
        store: JobStore | None = None,
        monitor_interval: float = 0.25,
        max_finished_jobs: int = MAX_FINISHED_JOBS,
    ) -> None:
        self.channel_capacity = channel_capacity
        self.max_finished_jobs = max_finished_jobs
        self.heartbeat_timeout = heartbeat_timeout
        self.fixed_slots = fixed_slots
        self.location = location
        self.gates = gates or GateRegistry()
        self.store = store
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._tms: dict[str, _TaskManager] = {}
        self._lost: dict[str, _TaskManager] = {}  # the last LOST record per id, for display
        self._registrations = 0
        self._stop = threading.Event()
        if store is not None:
            self._registrations = store.next_epoch() * 1_000_000  # fences older incarnations
            for job in store.load_jobs():
                self._jobs[job.job_id] = job
                if job.resumable:
                    self._resume(job)
        self._monitor = threading.Thread(target=self._watch, args=(monitor_interval,),
                                         name="flowsql-jobmanager-monitor", daemon=True)
        self._monitor.start()

    # -- TaskManagers ------------------------------------------------------------------------
    def register_task_manager(
        self,
        tm_id: str,
        slots: int,
        gateway: TaskManagerGateway,
        *,
        host: str = "in-process",
        data_port: int = 0,
        location: str = "",
    ) -> int:
        """Add (or re-add) a TaskManager; returns its registration number. A TaskManager that
        registers again under the same id lost whatever ran on it."""
        with self._lock:
            old = self._tms.get(tm_id)
            self._registrations += 1
            number = self._registrations
        if old is not None:
            self._lose(old, f"TaskManager {tm_id} ({old.address()}) registered again; "
                            "its earlier tasks are gone")
        with self._lock:
            self._tms[tm_id] = _TaskManager(tm_id, slots, gateway, host, data_port, location,
                                            number, time.time())
            self._lost.pop(tm_id, None)
        log.info("TaskManager %s registered (%d slots, %s:%s)", tm_id, slots, host, data_port)
        self._schedule_waiting()
        return number

    def heartbeat(
        self,
        tm_id: str,
        registration: int,
        metrics: dict[str, dict[str, dict[str, int]]],
        process: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A TaskManager's heartbeat with its running tasks' metrics. Answers which of those
        tasks it must cancel (unknown here), or ``status: unknown`` when it was fenced."""
        with self._lock:
            tm = self._tms.get(tm_id)
            if tm is None or tm.registration != registration:
                return {"status": "unknown"}
            tm.last_heartbeat = time.time()
            tm.metrics = metrics
            tm.process = dict(process or {})
            stale = [t for t in metrics if t not in tm.tasks]
        return {"status": "ok", "cancel": stale}

    def reported_metrics(self, tm_id: str, task_ids: list[str]) -> dict[str, dict[str, dict[str, int]]]:
        """The metrics of ``task_ids`` as the TaskManager's last heartbeat reported them."""
        with self._lock:
            tm = self._tms.get(tm_id)
            cached = tm.metrics if tm is not None else {}
            return {t: cached[t] for t in task_ids if t in cached}

    def task_managers(self) -> list[TaskManagerInfo]:
        with self._lock:
            tms = list(self._tms.values())
            lost = list(self._lost.values())
        now = time.time()
        out = []
        here = process_stats()  # in-process TaskManagers report nothing: they are this process
        for tm, state in [(t, TM_RUNNING) for t in tms] + [(t, TM_LOST) for t in lost]:
            p = tm.process if tm.gateway.remote else here
            out.append(TaskManagerInfo(
                tm.tm_id, tm.host, tm.data_port, tm.slots, tm.free if state == TM_RUNNING else 0,
                tm.last_heartbeat if tm.gateway.remote else now, p.get("rss_bytes"),
                p.get("cpu_seconds"), state, p.get("cpu_cores"), p.get("physical_memory_bytes")))
        return out

    @property
    def free_slots(self) -> int:
        with self._lock:
            return sum(tm.free for tm in self._tms.values())

    # -- submission and scheduling -----------------------------------------------------------
    def submit(
        self,
        graph: JobGraph,
        *,
        resources: Mapping[str, Any] | None = None,
        config: Mapping[str, str] | None = None,
        result: bool = False,
        job_id: str | None = None,
    ) -> str:
        """Steps: (1) validate, (2) record CREATED, (3) schedule now or wait for slots.
        Returns the job id."""
        graph.validate()  # 1
        job = _Job(job_id or uuid.uuid4().hex[:16], graph, dict(resources or {}),
                   dict(config or {}), result)
        self._fault_tolerance(job)
        with self._lock:  # 2
            self._jobs[job.job_id] = job
            needed = len({slot_key(t) for t in task_ids(job.job_id, graph)})
            total = sum(tm.slots for tm in self._tms.values())
        self._save(job)
        if self.fixed_slots and needed > total:
            job.error = NotEnoughSlots(needed, self.free_slots)
            self._end(job, JobState.FAILED)
            raise job.error
        self._try_schedule(job)  # 3
        return job.job_id

    def _fault_tolerance(self, job: _Job) -> None:
        """Checkpointing, the restart strategy and a savepoint to start from (job config)."""
        options = checkpoint_options(job.config)
        graph = job.graph
        job.sources = [t for c in graph.chains() if not graph.inputs(c.head)
                       for t in task_ids_of_chain(job.job_id, c)]
        savepoint = (job.config.get("execution.savepoint.path") or "").strip()
        if savepoint:
            job.restore = open_checkpoint(savepoint).path
            unclaimed = sorted(set(state_uids(job.restore)) - {op.uid for op in graph.operators})
            ignore = str(job.config.get("execution.savepoint.ignore-unclaimed-state", "false"))
            if unclaimed and ignore.strip().lower() != "true":
                raise ExecutionError(
                    f"the savepoint {savepoint} holds state of operator(s) "
                    f"{', '.join(unclaimed)} that this job does not have",
                    hint="SET 'execution.savepoint.ignore-unclaimed-state' = 'true'; to drop it")
        restartable = not job.resources and not job.result  # a client's live result cannot
        job.policy = RestartPolicy(restart_options(job.config if restartable else {},
                                                   options.enabled and restartable))
        if options.enabled:
            job.coordinator = self._coordinator(job, options)

    def _coordinator(self, job: _Job, options: CheckpointOptions) -> CheckpointCoordinator:
        def trigger(n: int, target: str | None, stop: bool, drain: bool) -> list[str]:
            return self._trigger_sources(job, job.sources, n, target, stop, drain)

        def complete(checkpoint: CompletedCheckpoint) -> None:
            self._notify_complete(job, checkpoint.checkpoint_id)

        storage = (CheckpointStorage(str(options.directory), job.job_id)
                   if options.directory else None)
        return CheckpointCoordinator(
            job.job_id, options, storage,
            {op.uid: op.parallelism for op in job.graph.operators}, trigger, complete)

    def stop_with_savepoint(self, job_id: str, directory: str, timeout: float = 60.0,
                            drain: bool = False) -> str:
        """Take a savepoint into a new folder under ``directory`` with the sources stopping at
        its barrier, then stop the tasks; the job ends FINISHED, as in Flink. Returns the
        savepoint's path. Without ``drain`` open windows are not fired (they are in the
        savepoint); with ``drain`` (Flink's ``--drain``) the sources emit the final watermark
        before the barrier, so every event-time window fires and its rows reach the sinks,
        which commit them with the savepoint."""
        path = self.trigger_savepoint(job_id, directory, timeout, stop=True, drain=drain)
        self._job(job_id).stopped_with_savepoint = True
        self.cancel(job_id, wait=True, timeout=timeout)
        return path

    def trigger_savepoint(self, job_id: str, directory: str, timeout: float = 60.0,
                          stop: bool = False, drain: bool = False) -> str:
        """Take a savepoint into a new folder under ``directory`` while the job runs on (with
        ``stop``, its sources emit nothing after the barrier); returns its path."""
        job = self._job(job_id)
        with self._lock:
            if job.state != JobState.RUNNING:
                raise ExecutionError(f"job {job_id} is {job.state}: only a RUNNING job can be "
                                     "stopped with a savepoint")
            if len(job.pending) != len(job.placement):
                raise ExecutionError(f"job {job_id} has finished tasks: a savepoint needs "
                                     "every task running")
            if job.coordinator is None:  # checkpointing is off: a coordinator for savepoints
                job.coordinator = self._coordinator(job, checkpoint_options(job.config))
            tasks = sorted(job.placement)
        target = join(directory, f"savepoint-{job_id[:6]}-{uuid.uuid4().hex[:12]}")
        pending = job.coordinator.trigger_savepoint(tasks, target, stop=stop, drain=drain)
        if not pending.done.wait(timeout):
            job.coordinator.abort_pending(f"the savepoint took longer than {timeout:g} s")
        if pending.result is None:
            raise ExecutionError(f"the savepoint of job {job_id} failed: "
                                 f"{pending.failure or 'it did not complete'}")
        return pending.result

    def _notify_complete(self, job: _Job, checkpoint_id: int) -> None:
        """Tell every running task of the job that a checkpoint completed (sinks commit).
        A TaskManager that cannot be told commits on recovery instead."""
        with self._lock:
            by_tm: dict[str, list[str]] = {}
            for tid in job.pending:
                by_tm.setdefault(job.placement.get(tid, ""), []).append(tid)
            targets = [(self._tms[t], ids) for t, ids in by_tm.items() if t in self._tms]
        for tm, ids in targets:
            try:
                tm.gateway.notify_checkpoint_complete(sorted(ids), checkpoint_id)
            except Exception as e:  # noqa: BLE001 - see docstring
                log.warning("telling %s that checkpoint %d completed failed: %s",
                            tm.tm_id, checkpoint_id, e)

    def _resume(self, job: _Job) -> None:
        """A job that ran when the previous JobManager stopped: restart it from its latest
        complete checkpoint once TaskManagers offer slots, or fail it when it has none."""
        try:
            self._fault_tolerance(job)
        except Exception as e:  # noqa: BLE001 - a job we cannot resume fails; others go on
            job.coordinator = None
            log.warning("job %s cannot resume: %s", job.job_id, e)
        latest = job.coordinator.latest if job.coordinator is not None else None
        if latest is None:
            job.error = ExecutionError(
                f"the JobManager stopped while the job was {job.state} and it has no "
                "complete checkpoint to resume from")
            job.state = JobState.FAILED
            job.end_time = job.end_time or job.start_time or job.submit_time
            job.done.set()
            return
        job.state = JobState.RESTARTING
        job.restore = latest.path
        job.attempt += 1
        job.restart_at = time.monotonic()
        job.submit_time = time.time()
        job.reason = (f"resuming from checkpoint {latest.checkpoint_id} after a JobManager "
                      "restart; waiting for TaskManagers")
        log.warning("job %s resumes from %s (attempt %d)", job.job_id, latest.path, job.attempt)

    def _trigger_sources(self, job: _Job, sources: list[str], n: int, target: str | None = None,
                         stop: bool = False, drain: bool = False) -> list[str]:
        """Ask every source task for barrier ``n``; returns those that could not be asked."""
        with self._lock:
            targets = [(tid, self._tms.get(job.placement.get(tid, ""))) for tid in sources]
        missed = []
        for tid, tm in targets:
            try:
                ok = tm is not None and tm.gateway.trigger_checkpoint(tid, n, target, stop, drain)
            except Exception as e:  # noqa: BLE001 - that checkpoint fails; heartbeats judge the TM
                log.warning("triggering checkpoint %d at %s failed: %s", n, tid, e)
                ok = False
            if not ok:
                missed.append(tid)
        return missed

    def checkpoint_stats(self, job_id: str) -> CheckpointView | None:
        """The job's checkpoint statistics (None when checkpointing is off)."""
        job = self._job(job_id)
        co = job.coordinator
        if co is None:
            return None
        return CheckpointView(list(co.history), co.counts, job.restored, job.restores)

    def on_checkpoint_ack(self, ack: CheckpointAck) -> None:
        """A task's acknowledgement (or refusal) of a checkpoint; fenced like task reports."""
        with self._lock:
            tm = self._tms.get(ack.tm_id)
            if tm is None or tm.registration != ack.registration:
                return
            job = self._jobs.get(ack.job_id)
            if job is None or job.coordinator is None or ack.attempt != job.attempt:
                return
            if job.state != JobState.RUNNING:
                return
        reason = job.coordinator.on_ack(ack)
        if reason is not None:
            self._fail_job(job, ExecutionError(reason))

    def _tick_checkpoints(self) -> None:
        with self._lock:
            jobs = [(j, sorted(j.placement), len(j.pending) == len(j.placement))
                    for j in self._jobs.values()
                    if j.state == JobState.RUNNING and j.coordinator is not None]
        for job, tasks, all_running in jobs:
            reason = job.coordinator.tick(tasks, all_running)
            if reason is not None:
                self._fail_job(job, ExecutionError(reason))

    def _fail_job(self, job: _Job, error: ExecutionError) -> None:
        """Fail a running job for a reason of its own (not a task's): no restart."""
        with self._lock:
            if job.state != JobState.RUNNING:
                return
            job.error = error
            job.state = transition(job.state, JobState.FAILING)
            to_cancel = sorted(job.pending)
        if job.coordinator is not None:
            job.coordinator.abort_pending("the job failed")
        self._abort(job)
        self._cancel_tasks(job, to_cancel)

    def _schedule_waiting(self) -> None:
        now = time.monotonic()
        with self._lock:
            waiting = sorted((j for j in self._jobs.values() if j.state == JobState.CREATED or (
                j.state == JobState.RESTARTING and not j.pending
                and j.restart_at is not None and j.restart_at <= now)),
                key=lambda j: j.submit_time)
        for job in waiting:
            self._try_schedule(job)

    def _try_schedule(self, job: _Job) -> None:
        """Place and deploy the job if slots allow; else record why it waits (or fail it
        when it waited longer than its slot request timeout)."""
        with self._lock:
            if job.state == JobState.RESTARTING:
                if job.pending or job.restart_at is None or job.restart_at > time.monotonic():
                    return
            elif job.state != JobState.CREATED:
                return
            ids = task_ids(job.job_id, job.graph)
            free = {tm.tm_id: tm.free for tm in self._tms.values()}
            try:
                placement = schedule(ids, free)
            except NotEnoughSlots as e:
                job.reason = (f"waiting for task slots: the job needs {e.needed}, "
                              f"the cluster has {e.free} free")
                if time.time() - job.submit_time >= job.slot_timeout():
                    job.error = NotEnoughSlots(e.needed, e.free)
                    job.error.message += f" (waited {job.slot_timeout():g} s)"
                    failed = True
                else:
                    return
            else:
                failed = False
                for tid, tm_id in placement.items():
                    self._tms[tm_id].tasks.add(tid)
                job.placement = placement
                job.pending = set(placement)
                job.reason = None
                locations = {tm.tm_id: tm.location for tm in self._tms.values() if tm.location}
                if self.location:
                    locations[JOBMANAGER] = self.location
                descriptors = build_descriptors(
                    job.job_id, job.graph, placement, locations=locations,
                    channel_capacity=self.channel_capacity, config=job.config, result=job.result,
                    restore=job.restore, attempt=job.attempt,
                )
                if job.result:
                    key = result_gate(job.job_id)
                    self.gates.register(key, InProcessInputGate(
                        key, max(1, collect_parallelism(job.graph)), self.channel_capacity))
                job.state = transition(job.state, JobState.RUNNING)
                job.restart_at = None
                if job.restore:
                    job.restores += 1
                    job.restored = (checkpoint_id_of(job.restore), time.time(), job.restore)
                if job.start_time is None:
                    job.start_time = time.time()
                if job.coordinator is not None:
                    job.coordinator.restarted()
                gateways = {tm_id: self._tms[tm_id].gateway for tm_id in set(placement.values())}
        if failed:
            self._end(job, JobState.FAILED)
            return
        self._save(job)
        for i, desc in enumerate(descriptors):
            tm_id = placement[desc.task_id]
            with self._lock:
                stopping = job.state != JobState.RUNNING
            if stopping:  # failed or cancelled while deploying: the rest never starts
                self._release(placement, [d.task_id for d in descriptors[i:]])
                for d in descriptors[i:]:
                    self._task_ended(job, d.task_id, "CANCELED", None, None, {})
                break
            try:
                gateways[tm_id].deploy(desc, job.resources)
                with self._lock:
                    stopping = job.state != JobState.RUNNING
                if stopping:  # a cancel may have missed this task while it was deploying
                    gateways[tm_id].cancel(desc.task_id)
            except Exception as e:  # noqa: BLE001 - a deployment failure fails the job
                err = e if isinstance(e, ExecutionError) else ExecutionError(
                    f"deploying {desc.name} to TaskManager {tm_id} failed: {e}")
                undeployed = [d.task_id for d in descriptors[i:]]
                self._release(placement, undeployed)
                self._task_ended(job, desc.task_id, "FAILED", err, None, {})
                for tid in undeployed[1:]:
                    self._task_ended(job, tid, "CANCELED", None, None, {})
                break

    def _release(self, placement: Mapping[str, str], task_ids: list[str]) -> None:
        """Free the slots of tasks that were placed but never deployed."""
        with self._lock:
            for tid in task_ids:
                tm = self._tms.get(placement[tid])
                if tm is not None:
                    tm.tasks.discard(tid)

    # -- task reports ------------------------------------------------------------------------
    def on_task_state(self, report: TaskReport) -> None:
        """A task ended (FINISHED, FAILED or CANCELED) on a TaskManager; reports from a fenced
        registration are ignored."""
        with self._lock:
            tm = self._tms.get(report.tm_id)
            if tm is None or tm.registration != report.registration:
                log.info("ignoring a report of %s from fenced TaskManager %s",
                         report.task_id, report.tm_id)
                return
            tm.tasks.discard(report.task_id)
            tm.metrics.pop(report.task_id, None)
            job = self._jobs.get(report.job_id)
        if job is not None:
            self._task_ended(job, report.task_id, report.state, report.error, report.details,
                             report.metrics)
        self._schedule_waiting()

    def _task_ended(
        self,
        job: _Job,
        task_id: str,
        state: str,
        error: ExecutionError | None,
        details: str | None,
        metrics: dict[str, dict[str, int]],
    ) -> None:
        with self._lock:
            if task_id not in job.pending:
                return
            job.pending.discard(task_id)
            job.final_metrics[task_id] = metrics
            to_cancel: list[str] = []
            restarting = False
            if state in ("FAILED", "CANCELED") and job.state == JobState.RUNNING:
                job.error = error or ExecutionError(f"task {task_id} was cancelled unexpectedly")
                job.error_details = details
                delay = job.policy.on_failure(time.monotonic()) if job.policy else None
                if delay is not None:
                    restarting = True
                    job.state = transition(job.state, JobState.RESTARTING)
                    job.reason = f"restarting in {delay:g} s after: {job.error.render()}"
                    job.restart_at = time.monotonic() + delay
                else:
                    job.state = transition(job.state, JobState.FAILING)
                to_cancel = sorted(job.pending)
            finished = not job.pending
            restart_ready = finished and job.state == JobState.RESTARTING
        if restarting and job.coordinator is not None:
            job.coordinator.abort_pending("a task failed")
        if to_cancel:
            if not restarting:
                self._abort(job)
            self._cancel_tasks(job, to_cancel)
        if restart_ready:
            self._prepare_restart(job)
            return
        if finished:
            final = {
                JobState.RUNNING: JobState.FINISHED,
                JobState.FAILING: JobState.FAILED,
                JobState.CANCELLING: JobState.FINISHED if job.stopped_with_savepoint
                else JobState.CANCELED,
            }[job.state]
            if job.coordinator is not None:
                failure = self._final_output(job, commit=final == JobState.FINISHED)
                if failure is not None:
                    job.error, final = ExecutionError(failure), JobState.FAILED
            self._end(job, final)

    def _final_output(self, job: _Job, *, commit: bool) -> str | None:
        """Every task ended: the TaskManagers publish (``commit``) or drop the output their
        finished transactional sinks held back. Returns why publishing failed, if it did."""
        with self._lock:
            tms = [self._tms[t] for t in sorted(set(job.placement.values())) if t in self._tms]
        for tm in tms:
            try:
                if commit:
                    tm.gateway.commit_final(job.job_id, job.attempt)
                else:
                    tm.gateway.discard_final(job.job_id)
            except Exception as e:  # noqa: BLE001 - reported as the job's failure below
                if commit:
                    return (f"TaskManager {tm.tm_id} ({tm.address()}) could not publish the "
                            f"job's final output: {e}")
                log.warning("dropping held output of job %s on %s failed: %s", job.job_id,
                            tm.tm_id, e)
        return None

    def _prepare_restart(self, job: _Job) -> None:
        """Every task of the failed attempt stopped: the next attempt restores the latest
        complete checkpoint (or what the job started from) once the delay has passed."""
        with self._lock:
            if job.state != JobState.RESTARTING:
                return
            latest = job.coordinator.latest if job.coordinator is not None else None
            if latest is not None:
                job.restore = latest.path
        if job.coordinator is not None:
            self._final_output(job, commit=False)
        with self._lock:
            job.attempt += 1
            job.placement = {}
            job.submit_time = time.time()
        log.warning("job %s restarts (attempt %d) from %s: %s", job.job_id, job.attempt,
                    job.restore or "the beginning", job.error.render() if job.error else "")
        self._save(job)

    def _cancel_tasks(self, job: _Job, ids: list[str]) -> None:
        """Ask each task's TaskManager to cancel it: in-process ones at once, remote ones from
        a thread per TaskManager, so an unreachable TaskManager (detected by heartbeats)
        never holds up the others, the monitor or the caller."""
        by_tm: dict[str, list[str]] = {}
        with self._lock:
            for tid in ids:
                tm_id = job.placement.get(tid, "")
                if tm_id in self._tms:
                    by_tm.setdefault(tm_id, []).append(tid)
            targets = [(self._tms[t], tids) for t, tids in by_tm.items()]

        def cancel(tm: _TaskManager, tids: list[str]) -> None:
            for tid in tids:
                try:
                    tm.gateway.cancel(tid)
                except Exception as e:  # noqa: BLE001 - heartbeats detect a lost TaskManager
                    log.warning("cancelling %s on %s failed: %s", tid, tm.tm_id, e)

        for tm, tids in targets:
            if tm.gateway.remote:
                threading.Thread(target=cancel, args=(tm, tids), daemon=True,
                                 name=f"flowsql-cancel {tm.tm_id}").start()
            else:
                cancel(tm, tids)

    def _end(self, job: _Job, final: JobState) -> None:
        with self._lock:
            job.state = transition(job.state, final)
            job.end_time = time.time()
            if job.start_time is None:
                job.start_time = job.end_time
        if job.result and final != JobState.FINISHED:
            key = result_gate(job.job_id)
            try:
                self.gates.get(key, 0).cancel()
            except ExecutionError:
                pass
            self.gates.remove(key)
        for resource in job.resources.values():
            hook = getattr(resource, "on_job_end", None)
            if callable(hook):
                hook(str(final), job.error)
        # An ended job is kept listed, but not its client's objects: a live query's result
        # buffer (and the rows it still holds) belongs to the client from here on.
        job.resources = {}
        if job.coordinator is not None:
            job.coordinator.job_ended(str(final))
        self._save(job)
        job.done.set()
        self._forget_old_jobs()

    def _forget_old_jobs(self) -> None:
        """Keep at most ``max_finished_jobs`` ended jobs: the oldest ended ones go first."""
        with self._lock:
            ended = [j for j in self._jobs.values() if j.state.terminal]
            over = len(ended) - self.max_finished_jobs
            if over <= 0:
                return
            ended.sort(key=lambda j: j.end_time or 0.0)
            gone = [j.job_id for j in ended[:over]]
            for job_id in gone:
                del self._jobs[job_id]
        if self.store is not None:
            for job_id in gone:
                self.store.delete(job_id)

    @staticmethod
    def _abort(job: _Job) -> None:
        for resource in job.resources.values():
            hook = getattr(resource, "abort", None)
            if callable(hook):
                hook()

    # -- failure detection -------------------------------------------------------------------
    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the monitor must never die
                log.exception("JobManager monitor")

    def check(self) -> None:
        """Declare silent TaskManagers lost and time out jobs waiting for slots."""
        now = time.time()
        with self._lock:
            lost = [tm for tm in self._tms.values()
                    if tm.gateway.remote and now - tm.last_heartbeat > self.heartbeat_timeout]
            waiting = any(j.state in (JobState.CREATED, JobState.RESTARTING)
                          for j in self._jobs.values())
        for tm in lost:
            self._lose(tm, f"TaskManager {tm.tm_id} ({tm.address()}) lost: no heartbeat for "
                           f"{now - tm.last_heartbeat:.1f} s (heartbeat.timeout "
                           f"{self.heartbeat_timeout:g} s)")
        if waiting:
            self._schedule_waiting()
        self._tick_checkpoints()

    def _lose(self, tm: _TaskManager, reason: str) -> None:
        with self._lock:
            if self._tms.get(tm.tm_id) is tm:
                del self._tms[tm.tm_id]
                self._lost[tm.tm_id] = tm
            gone = set(tm.tasks)
            tm.tasks.clear()
            jobs = [j for j in self._jobs.values() if gone & j.pending]
        if gone:
            log.warning("%s", reason)
        for job in jobs:
            for tid in sorted(gone & job.pending):
                metrics = tm.metrics.get(tid, {})
                self._task_ended(job, tid, "FAILED", ExecutionError(reason), None, metrics)

    # -- queries and control -----------------------------------------------------------------
    def _job(self, job_id: str) -> _Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJobError(job_id)
        return job

    def job(self, job_id: str) -> JobInfo:
        return self._job(job_id).info()

    def graph(self, job_id: str) -> JobGraph:
        return self._job(job_id).graph

    def job_config(self, job_id: str) -> dict[str, str]:
        return dict(self._job(job_id).config)

    def list_jobs(self) -> list[JobInfo]:
        with self._lock:
            jobs = list(self._jobs.values())
        return [j.info() for j in sorted(jobs, key=lambda j: (j.start_time or j.submit_time, j.job_id))]

    def error(self, job_id: str) -> tuple[ExecutionError | None, str | None]:
        """The job's error and its traceback text (for --verbose and logs)."""
        job = self._job(job_id)
        return job.error, job.error_details

    def cancel(self, job_id: str, *, wait: bool = True, timeout: float | None = 10.0) -> JobInfo:
        """Cancel a waiting or running job; returns its info (CANCELED once every task stopped)."""
        job = self._job(job_id)
        with self._lock:
            if job.state == JobState.CREATED or (
                    job.state == JobState.RESTARTING and not job.pending):
                cancel_now = True
            elif job.state in (JobState.RUNNING, JobState.RESTARTING):
                cancel_now = False
                job.state = transition(job.state, JobState.CANCELLING)
                tasks = sorted(job.pending)
            else:
                return job.info()
        if job.coordinator is not None:
            job.coordinator.abort_pending("the job was cancelled")
        if cancel_now:
            self._end(job, JobState.CANCELED)
            return job.info()
        self._abort(job)
        self._cancel_tasks(job, tasks)
        if wait:
            job.done.wait(timeout)
        return job.info()

    def wait(self, job_id: str, timeout: float | None = None) -> JobInfo:
        """Block until the job reached a final state (or ``timeout``); returns its info."""
        job = self._job(job_id)
        job.done.wait(timeout)
        return job.info()

    def result(self, job_id: str, timeout: float | None = None) -> JobInfo:
        """Like :meth:`wait`, but raises the job's ExecutionError / QueryCancelled."""
        info = self.wait(job_id, timeout)
        job = self._job(job_id)
        if info.state == JobState.FAILED:
            raise job.error or ExecutionError("the job failed")
        if info.state == JobState.CANCELED:
            raise QueryCancelled(f"job {job_id} was cancelled")
        if info.state != JobState.FINISHED:
            raise ExecutionError(f"job {job_id} did not finish within {timeout} s (state {info.state})")
        return info

    def task_metrics(self, job_id: str) -> dict[str, dict[str, dict[str, int]]]:
        """Per task of the job: per operator counts (final for ended tasks, live otherwise)."""
        job = self._job(job_id)
        with self._lock:
            out = dict(job.final_metrics)
            live: dict[str, list[str]] = {}
            for tid in job.pending:
                live.setdefault(job.placement[tid], []).append(tid)
            gateways = {tm_id: self._tms[tm_id] for tm_id in live if tm_id in self._tms}
        for tm_id, tm in gateways.items():
            try:
                out.update(tm.gateway.task_metrics(live[tm_id]))
            except Exception:  # noqa: BLE001 - metrics are best effort
                pass
        return out

    def metrics(self, job_id: str) -> dict[str, OperatorMetrics]:
        """Per-operator metrics summed over subtasks (live while the job runs)."""
        job = self._job(job_id)
        totals = {op.id: OperatorMetrics() for op in job.graph.operators}
        for per_task in self.task_metrics(job_id).values():
            for op_id, m in per_task.items():
                t = totals.get(op_id)
                if t is None:
                    continue
                t.records_in += int(m.get("in", 0))
                t.records_out += int(m.get("out", 0))
                t.late_records_dropped += int(m.get("late", 0))
                if "watermark" in m:
                    wm = int(m["watermark"])
                    t.extra["watermark"] = min(t.extra.get("watermark", wm), wm)
                for key in SUMMED_EXTRAS:
                    if key in m:
                        t.extra[key] = t.extra.get(key, 0) + int(m[key])
                if "channel_fill_permille" in m:  # the fullest subtask's gate
                    fill = int(m["channel_fill_permille"]) / 1000
                    t.extra["channel_fill"] = max(t.extra.get("channel_fill", 0.0), fill)
                for key, pick in _FLOW_KEYS.items():
                    if key in m:
                        v = int(m[key])
                        t.extra[key] = pick(t.extra.get(key, v), v)
        return totals

    def totals(self, job_id: str) -> JobTotals:
        """Job-level counts (live while the job runs), from :meth:`metrics`: rows read by the
        sources, rows written by the sinks, and late rows over all operators (see
        :class:`JobTotals`). Each figure counts a row once, however many operators it passes."""
        job = self._job(job_id)
        if job.stored_totals is not None and not job.placement:
            return job.stored_totals
        metrics = self.metrics(job_id)
        graph = job.graph
        sources = {op.id for op in graph.operators if not graph.inputs(op.id)}
        sinks = {op.id for op in graph.operators if not graph.outputs(op.id)}
        return JobTotals(
            records_in=sum(m.records_out for op_id, m in metrics.items() if op_id in sources),
            records_out=sum(m.records_in for op_id, m in metrics.items() if op_id in sinks),
            late_records=sum(m.late_records_dropped for m in metrics.values()),
            malformed_records=sum(int(m.extra.get("malformed_records", 0)) for m in metrics.values()),
        )

    def _save(self, job: _Job) -> None:
        if self.store is None:
            return
        try:
            totals = self.totals(job.job_id) if job.state.terminal else None
            self.store.save(job, totals)
        except Exception:  # noqa: BLE001 - the store must not break the job
            log.exception("saving job %s", job.job_id)

    def shutdown(self, timeout: float | None = 10.0) -> None:
        """Cancel every waiting or running job and stop the monitor."""
        with self._lock:
            active = [j.job_id for j in self._jobs.values()
                      if j.state in (JobState.RUNNING, JobState.CREATED, JobState.RESTARTING)]
        for job_id in active:
            self.cancel(job_id, timeout=timeout)
        self._stop.set()
