"""ClusterView data -> Flink's REST shapes (the models of :mod:`.models`).

Contract:
- A Flink *vertex* is one FlowSQL operator chain (:meth:`JobGraph.chains`, ids
  ``chain-1``, ``chain-2``, ...): it runs as one task per subtask, like a Flink JobVertex.
  Its name joins the operator names with `` -> `` (Flink's chained-name style); its
  ``read-records`` are the head's records in, ``write-records`` the tail's records out.
  Per-operator figures (the dashboard's graph) are in the job's ``flowsql`` field.
- Subtask states are not in the ClusterView, so they are derived from the job state (all
  subtasks RUNNING while the job runs, ...); in a FAILING/FAILED job the vertex holding the
  failing operator is FAILED and the others CANCELING/CANCELED.
- Times are epoch ms; ``-1`` is Flink's "unknown/not yet" (an end time of a running job).
  ``timestamps`` holds, per job state, when the job entered it if known, else 0 (FlowSQL
  records only the start and the end).
- Rates (``records-*-per-second``, backpressure ratios) come from a :class:`RateSampler`;
  they are ``None`` until two samples at least a second apart exist.
"""

from __future__ import annotations

import os
import time

import flowsql
from flowsql.errors import UnknownJobError
from flowsql.messages import MAX_WATERMARK, MIN_WATERMARK
from flowsql.operators.base import OperatorMetrics
from flowsql.physical.graph import Chain, JobGraph
from flowsql.runtime.jobmanager.jobmanager import JobInfo
from flowsql.runtime.jobmanager.states import JobState
from flowsql.runtime.rest import models as m
from flowsql.runtime.rest.sampler import RateSampler
from flowsql.runtime.rest.view import TM_RUNNING, ClusterView, TaskManagerInfo

VERSION = flowsql.__version__
TASK_STATES = (
    "CREATED", "SCHEDULED", "DEPLOYING", "RUNNING", "FINISHED",
    "CANCELING", "CANCELED", "FAILED", "RECONCILING", "INITIALIZING",
)  # fmt: skip
TERMINAL_TASK_STATES = frozenset({"FINISHED", "CANCELED", "FAILED"})
_TASK_STATE_OF_JOB = {
    "CREATED": "CREATED",
    "RUNNING": "RUNNING",
    "FAILING": "CANCELING",
    "CANCELLING": "CANCELING",
    "FINISHED": "FINISHED",
    "FAILED": "CANCELED",
    "CANCELED": "CANCELED",
}


def ms(t: float | None) -> int:
    return int(t * 1000) if t is not None else -1


def duration_ms(info: JobInfo, now: float) -> int:
    if info.start_time is None:
        return 0
    end = info.end_time if info.end_time is not None else now
    return max(int((end - info.start_time) * 1000), 0)


def last_modification(info: JobInfo) -> int:
    return max(ms(info.start_time), ms(info.end_time), 0)


def reason(info: JobInfo) -> str | None:
    return getattr(info, "reason", None)


# -- vertices ------------------------------------------------------------------------------
def vertex_states(info: JobInfo, chains: list[Chain]) -> dict[str, str]:
    base = _TASK_STATE_OF_JOB.get(info.state, "CREATED")
    states = {c.id: base for c in chains}
    if info.state in ("FAILING", "FAILED") and info.operator_id:
        for c in chains:
            if info.operator_id in c.operator_ids:
                states[c.id] = "FAILED"
    return states


def task_counts(graph: JobGraph, info: JobInfo) -> m.TaskCounts:
    chains = graph.chains()
    counts = dict.fromkeys((s.lower() for s in TASK_STATES), 0)
    for c in chains:
        counts[vertex_states(info, chains)[c.id].lower()] += c.parallelism
    return m.TaskCounts(total=sum(c.parallelism for c in chains), **counts)


def chain_name(graph: JobGraph, chain: Chain) -> str:
    return " -> ".join(graph.operator(op_id).name for op_id in chain.operator_ids)


def operator_depths(graph: JobGraph) -> dict[str, int]:
    """Longest path (in edges) from a source: the dashboard's column of each operator."""
    depth: dict[str, int] = {}
    for op in graph.topological_order():
        depth[op.id] = max((depth[e.source] + 1 for e in graph.inputs(op.id)), default=0)
    return depth


# -- the routes' bodies --------------------------------------------------------------------
def overview(view: ClusterView) -> m.Overview:
    tms = [tm for tm in view.task_managers() if tm.state == TM_RUNNING]
    states = [j.state for j in view.list_jobs()]
    return m.Overview(
        taskmanagers=len(tms),
        slots_total=sum(tm.slots for tm in tms),
        slots_available=sum(tm.free_slots for tm in tms),
        jobs_running=sum(s not in ("FINISHED", "FAILED", "CANCELED") for s in states),
        jobs_finished=states.count("FINISHED"),
        jobs_cancelled=states.count("CANCELED"),
        jobs_failed=states.count("FAILED"),
        flink_version=VERSION,
        flink_commit="unknown",
    )


def jobs_overview(view: ClusterView, now: float) -> m.JobsOverview:
    entries = []
    for info in view.list_jobs():
        try:
            graph = view.graph(info.job_id)
        except UnknownJobError:
            continue  # an ended job forgotten since the listing (the JobManager keeps the latest)
        entries.append(
            m.JobOverviewEntry(
                jid=info.job_id,
                name=info.name,
                state=info.state,
                start_time=ms(info.start_time),
                end_time=ms(info.end_time),
                duration=duration_ms(info, now),
                last_modification=last_modification(info),
                tasks=task_counts(graph, info),
                flowsql=m.JobExtension(reason=reason(info), error=info.error),
            )
        )
    return m.JobsOverview(jobs=entries)


def job_list(view: ClusterView) -> m.JobList:
    return m.JobList(jobs=[m.JobIdStatus(id=j.job_id, status=j.state) for j in view.list_jobs()])


def job_details(view: ClusterView, info: JobInfo, sampler: RateSampler, now: float) -> m.JobDetails:
    job_id = info.job_id
    graph = view.graph(job_id)
    metrics = view.metrics(job_id)
    chains = graph.chains()
    states = vertex_states(info, chains)
    chain_of = {op_id: c for c in chains for op_id in c.operator_ids}
    operators = operator_details(graph, metrics, sampler, job_id, chain_of, now)

    vertices = []
    nodes = []
    for c in chains:
        ops = [metrics.get(op_id, OperatorMetrics()) for op_id in c.operator_ids]
        status = states[c.id]
        complete = status in TERMINAL_TASK_STATES
        vertices.append(
            m.Vertex(
                id=c.id,
                name=chain_name(graph, c),
                max_parallelism=-1,
                parallelism=c.parallelism,
                status=status,
                start_time=ms(info.start_time),
                end_time=ms(info.end_time) if complete else -1,
                duration=duration_ms(info, now),
                tasks={s: (c.parallelism if s == status else 0) for s in TASK_STATES},
                metrics=m.VertexMetrics(
                    read_records=ops[0].records_in,
                    read_records_complete=complete,
                    write_records=ops[-1].records_out,
                    write_records_complete=complete,
                    read_bytes_complete=complete,
                    write_bytes_complete=complete,
                    accumulated_busy_time=int(max(o.extra.get("busy_ms", 0) for o in ops)),
                    accumulated_backpressured_time=int(
                        max(o.extra.get("backpressured_ms", 0) for o in ops)
                    ),
                ),
            )
        )
        inputs = [
            m.PlanInput(
                num=i,
                id=chain_of[e.source].id,
                ship_strategy=e.partitioning.upper(),
                exchange="pipelined_bounded",
            )
            for i, e in enumerate(graph.inputs(c.head))
            if not graph.chainable(e)
        ]
        nodes.append(
            m.PlanNode(
                id=c.id,
                parallelism=c.parallelism,
                operator="",
                operator_strategy="",
                description=chain_name(graph, c),
                inputs=inputs,
            )
        )
    status_counts = dict.fromkeys(TASK_STATES, 0)
    for c in chains:
        status_counts[states[c.id]] += 1
    timestamps = dict.fromkeys((str(s) for s in JobState), 0)
    if info.start_time is not None:
        timestamps["CREATED"] = ms(info.start_time)
        if info.state != "CREATED":
            timestamps["RUNNING"] = ms(info.start_time)
    if info.end_time is not None:
        timestamps[info.state] = ms(info.end_time)
    edges = [
        m.OperatorEdge(
            source=e.source,
            target=e.target,
            partitioning=e.partitioning,
            keys=list(e.keys),
            chained=graph.chainable(e),
        )
        for e in graph.edges
    ]
    return m.JobDetails(
        jid=job_id,
        name=info.name,
        is_stoppable=False,
        state=info.state,
        start_time=ms(info.start_time),
        end_time=ms(info.end_time),
        duration=duration_ms(info, now),
        now=ms(now),
        timestamps=timestamps,
        vertices=vertices,
        status_counts=status_counts,
        plan=m.Plan(jid=job_id, name=info.name, nodes=nodes),
        flowsql=m.JobDetailsExtension(
            operators=operators, edges=edges, reason=reason(info), error=info.error,
            malformed_records=sum(o.malformed_records for o in operators),
        ),
    )


def operator_details(
    graph: JobGraph,
    metrics: dict[str, OperatorMetrics],
    sampler: RateSampler,
    job_id: str,
    chain_of: dict[str, Chain],
    now: float,
) -> list[m.OperatorDetails]:
    counters: dict[str, dict[str, float]] = {}
    for op in graph.operators:
        om = metrics.get(op.id, OperatorMetrics())
        c = {"in": om.records_in, "out": om.records_out}
        for key in ("busy_ms", "backpressured_ms"):
            if isinstance(om.extra.get(key), int | float):
                c[key] = om.extra[key]
        counters[op.id] = c
    rates = sampler.rates(job_id, counters)
    depths = operator_depths(graph)
    out = []
    for op in graph.operators:
        om = metrics.get(op.id, OperatorMetrics())
        r = rates[op.id]
        wm = om.extra.get("watermark")
        if not isinstance(wm, int) or wm <= MIN_WATERMARK or wm >= MAX_WATERMARK:
            wm = None
        out.append(
            m.OperatorDetails(
                id=op.id,
                kind=op.kind,
                name=op.name,
                parallelism=op.parallelism,
                vertex=chain_of[op.id].id,
                depth=depths[op.id],
                records_in=om.records_in,
                records_out=om.records_out,
                records_in_per_second=r["in"],
                records_out_per_second=r["out"],
                watermark=wm,
                watermark_lag_ms=ms(now) - wm if wm is not None else None,
                late_records=om.late_records_dropped,
                malformed_records=int(om.extra.get("malformed_records", 0) or 0),
                backpressure=backpressure(om, r, op.parallelism),
            )
        )
    return out


def _ratio(ms_per_s: float | None, parallelism: int) -> float | None:
    if ms_per_s is None:
        return None
    return min(max(ms_per_s / 1000.0 / max(parallelism, 1), 0.0), 1.0)


def backpressure(om: OperatorMetrics, rates: dict[str, float | None], parallelism: int) -> m.Backpressure:
    ratio = _ratio(rates.get("backpressured_ms"), parallelism)
    fill = om.extra.get("channel_fill")
    fill = float(fill) if isinstance(fill, int | float) else None
    credits = om.extra.get("credits")
    basis = ratio if ratio is not None else fill
    level = None
    if basis is not None:
        level = "ok" if basis <= 0.1 else "low" if basis <= 0.5 else "high"
    return m.Backpressure(
        level=level,
        ratio=ratio,
        busy_ratio=_ratio(rates.get("busy_ms"), parallelism),
        channel_fill=fill,
        credits=int(credits) if isinstance(credits, int | float) else None,
    )


def job_exceptions(view: ClusterView, info: JobInfo, now: float) -> m.JobExceptions:
    error, trace = view.error(info.job_id)
    message = error.render() if error is not None else info.error
    if message is None:
        return m.JobExceptions(
            root_exception=None,
            timestamp=None,
            all_exceptions=[],
            exception_history=m.ExceptionHistory(entries=[]),
        )
    timestamp = ms(info.end_time if info.end_time is not None else now)
    operator_id = (error.operator_id if error is not None else None) or info.operator_id
    task = None
    if operator_id:
        graph = view.graph(info.job_id)
        for c in graph.chains():
            if operator_id in c.operator_ids:
                task = chain_name(graph, c)
    stack = f"{message}\n\n{trace}" if trace else message
    name = f"{type(error).__module__}.{type(error).__qualname__}" if error else "ExecutionError"
    return m.JobExceptions(
        root_exception=stack,
        timestamp=timestamp,
        all_exceptions=[
            m.TaskException(exception=stack, task=task, location=None, timestamp=timestamp)
        ],
        exception_history=m.ExceptionHistory(
            entries=[
                m.ExceptionHistoryEntry(
                    exception_name=name,
                    stacktrace=stack,
                    timestamp=timestamp,
                    task_name=task,
                    location=None,
                )
            ]
        ),
        flowsql=m.ExceptionsExtension(message=message, operator_id=operator_id),
    )


def task_manager_entry(tm: TaskManagerInfo, now: float) -> m.TaskManagerEntry:
    return m.TaskManagerEntry(
        id=tm.tm_id,
        path=f"flowsql://{tm.host}:{tm.data_port}/{tm.tm_id}",
        data_port=tm.data_port,
        time_since_last_heartbeat=ms(tm.last_heartbeat),
        slots_number=tm.slots,
        free_slots=tm.free_slots,
        hardware=m.Hardware(
            cpu_cores=tm.cpu_cores if tm.cpu_cores is not None else -1,
            physical_memory=tm.physical_memory_bytes if tm.physical_memory_bytes is not None else -1,
        ),
        flowsql=m.TaskManagerExtension(
            state=tm.state,
            host=tm.host,
            rss_bytes=tm.rss_bytes,
            cpu_seconds=tm.cpu_seconds,
            heartbeat_age_ms=max(int((now - tm.last_heartbeat) * 1000), 0),
        ),
    )


def task_managers(view: ClusterView, now: float) -> m.TaskManagers:
    return m.TaskManagers(taskmanagers=[task_manager_entry(tm, now) for tm in view.task_managers()])


def config(refresh_interval_ms: int) -> m.Config:
    local = time.localtime()
    return m.Config(
        refresh_interval=refresh_interval_ms,
        timezone_name=local.tm_zone or os.environ.get("TZ", "UTC"),
        timezone_offset=int(local.tm_gmtoff or 0) * 1000,
        flink_version=VERSION,
        flink_revision="unknown",
        features={"web-submit": False, "web-cancel": True, "web-rescale": False, "web-history": False},
    )


def _stat(values: list[int]) -> m.MinMaxAvg:
    if not values:
        return m.MinMaxAvg()
    return m.MinMaxAvg(min=min(values), max=max(values), avg=sum(values) // len(values))


def checkpoints(view: ClusterView, info: JobInfo) -> m.Checkpoints:
    """Flink's ``/jobs/{jobid}/checkpoints``: counts, a summary of the completed ones, the
    latest of each kind and the history, newest first (empty when checkpointing is off)."""
    stats = getattr(view, "checkpoint_stats", lambda job_id: None)(info.job_id)
    if stats is None:
        return m.Checkpoints(counts=m.CheckpointCounts(), summary=m.CheckpointSummary(),
                             latest=m.LatestCheckpoints(), history=[])
    entries = [
        m.CheckpointEntry(
            class_=s.status.lower(),
            id=s.checkpoint_id, status=s.status,
            trigger_timestamp=ms(s.trigger_time),
            latest_ack_timestamp=ms(s.end_time) if s.end_time else -1,
            state_size=s.size, checkpointed_size=s.size,
            end_to_end_duration=s.duration_ms,
            num_subtasks=s.total, num_acknowledged_subtasks=s.acknowledged,
            external_path=s.path, failure_message=s.failure,
            alignment_duration=s.alignment_ms,
        )
        for s in reversed(stats.history)
    ]
    done = [e for e in entries if e.status == "COMPLETED"]
    failed = [e for e in entries if e.status == "FAILED"]
    restored = None
    if stats.restored is not None:
        restored = m.RestoredCheckpoint(id=stats.restored[0], restore_timestamp=ms(stats.restored[1]),
                                        external_path=stats.restored[2])
    return m.Checkpoints(
        counts=m.CheckpointCounts(
            restored=stats.restores, total=stats.counts.triggered,
            in_progress=sum(1 for e in entries if e.status == "IN_PROGRESS"),
            completed=stats.counts.completed, failed=stats.counts.failed),
        summary=m.CheckpointSummary(
            state_size=_stat([e.state_size for e in done]),
            checkpointed_size=_stat([e.checkpointed_size for e in done]),
            end_to_end_duration=_stat([e.end_to_end_duration for e in done])),
        latest=m.LatestCheckpoints(completed=done[0] if done else None,
                                   failed=failed[0] if failed else None, restored=restored),
        history=entries,
    )
