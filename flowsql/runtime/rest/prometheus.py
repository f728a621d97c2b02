"""``GET /metrics``: Prometheus text built from the ClusterView on every scrape.

Contract:
- :class:`ClusterCollector` is a prometheus-client custom collector: no global metric
  objects, nothing cached; each ``collect()`` reads the view. :func:`make_registry` puts it
  and the process collector (this process's RSS, CPU, open fds) on a private registry.
- Per operator of every job that is not in a final state (labels ``job_id``, ``job_name``,
  ``operator_id``; summed over subtasks): ``flowsql_operator_records_in_total``,
  ``..._records_out_total``, ``..._late_records_total``, ``..._malformed_records_total``
  (a source's records skipped by a lenient format, when it skipped any); when the view measures them:
  ``..._busy_time_ms_total``, ``..._backpressured_time_ms_total``,
  ``..._watermark_lag_seconds`` (wall clock minus watermark), ``..._channel_fill_ratio``,
  ``..._credits``. Finished jobs are left out: their series simply end.
- Per job (labels ``job_id``, ``job_name``, ``state``): ``flowsql_job_info`` = 1.
- Per job with checkpointing (labels ``job_id``, ``job_name``):
  ``flowsql_job_checkpoints_total`` (label ``status``: completed / failed),
  ``flowsql_job_last_checkpoint_duration_seconds``, ``..._size_bytes`` and ``..._id`` (the
  latest completed one), ``flowsql_job_restarts_total``.
- Per TaskManager (labels ``tm_id``, ``host``): ``flowsql_taskmanager_up`` (0 when LOST),
  ``..._heartbeat_age_seconds``, ``..._rss_bytes``, ``..._cpu_seconds_total``,
  ``..._slots``, ``..._free_slots``.
- A job that vanishes between listing and reading is skipped, never an error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from flowsql.errors import ExecutionError
from flowsql.messages import MAX_WATERMARK, MIN_WATERMARK
from flowsql.runtime.rest.view import TM_RUNNING, ClusterView

log = logging.getLogger("flowsql.runtime")
FINAL_STATES = frozenset({"FINISHED", "FAILED", "CANCELED"})
OP_LABELS = ["job_id", "job_name", "operator_id"]
TM_LABELS = ["tm_id", "host"]


class ClusterCollector(Collector):
    def __init__(self, view: ClusterView, clock: Callable[[], float] = time.time) -> None:
        self.view = view
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        yield from self._operators(now)
        yield from self._checkpoints()
        yield from self._task_managers(now)

    def _checkpoints(self) -> Iterator[Metric]:
        labels = ["job_id", "job_name"]
        total = CounterMetricFamily("flowsql_job_checkpoints", "Checkpoints that ended, by status.",
                                    labels=[*labels, "status"])
        duration = GaugeMetricFamily("flowsql_job_last_checkpoint_duration_seconds",
                                     "Trigger to completion of the latest completed checkpoint.",
                                     labels=labels)
        size = GaugeMetricFamily("flowsql_job_last_checkpoint_size_bytes",
                                 "State bytes written by the latest completed checkpoint.",
                                 labels=labels)
        last = GaugeMetricFamily("flowsql_job_last_checkpoint_id",
                                 "Id of the latest completed checkpoint.", labels=labels)
        restarts = CounterMetricFamily("flowsql_job_restarts", "Restarts of the job.",
                                       labels=labels)
        stats_of = getattr(self.view, "checkpoint_stats", None)
        for info in self.view.list_jobs():
            restarts.add_metric([info.job_id, info.name], getattr(info, "restarts", 0) or 0)
            try:
                stats = stats_of(info.job_id) if stats_of is not None else None
            except ExecutionError:
                continue
            if stats is None:
                continue
            names = [info.job_id, info.name]
            total.add_metric([*names, "completed"], stats.counts.completed)
            total.add_metric([*names, "failed"], stats.counts.failed)
            done = [h for h in stats.history if h.status == "COMPLETED"]
            if done:
                duration.add_metric(names, done[-1].duration_ms / 1000.0)
                size.add_metric(names, done[-1].size)
                last.add_metric(names, done[-1].checkpoint_id)
        yield from (total, duration, size, last, restarts)

    def _operators(self, now: float) -> Iterator[Metric]:
        def counter(name: str, doc: str) -> CounterMetricFamily:
            return CounterMetricFamily(f"flowsql_operator_{name}", doc, labels=OP_LABELS)

        def gauge(name: str, doc: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"flowsql_operator_{name}", doc, labels=OP_LABELS)

        job_info = GaugeMetricFamily(
            "flowsql_job_info", "Jobs the JobManager knows (1 each).", labels=["job_id", "job_name", "state"]
        )
        rin = counter("records_in", "Records the operator received, summed over subtasks.")
        rout = counter("records_out", "Records the operator emitted, summed over subtasks.")
        late = counter("late_records", "Late records the operator dropped or side-output.")
        malformed = counter("malformed_records",
                            "Records a source skipped as malformed (lenient formats).")
        busy = counter("busy_time_ms", "Milliseconds the operator's subtasks were busy.")
        bp = counter("backpressured_time_ms", "Milliseconds the operator's subtasks were backpressured.")
        lag = gauge("watermark_lag_seconds", "Wall-clock time minus the operator's watermark.")
        fill = gauge("channel_fill_ratio", "How full the operator's input channels are (0..1).")
        credits = gauge("credits", "Free buffer credits of the operator's input channels.")
        for info in self.view.list_jobs():
            job_info.add_metric([info.job_id, info.name, info.state], 1)
            if info.state in FINAL_STATES:
                continue
            try:
                metrics = self.view.metrics(info.job_id)
            except ExecutionError:
                continue  # the job went away meanwhile
            for op_id, om in metrics.items():
                labels = [info.job_id, info.name, op_id]
                rin.add_metric(labels, om.records_in)
                rout.add_metric(labels, om.records_out)
                late.add_metric(labels, om.late_records_dropped)
                extra = om.extra
                if _number(extra.get("malformed_records")):
                    malformed.add_metric(labels, extra["malformed_records"])
                if _number(extra.get("busy_ms")):
                    busy.add_metric(labels, extra["busy_ms"])
                if _number(extra.get("backpressured_ms")):
                    bp.add_metric(labels, extra["backpressured_ms"])
                wm = extra.get("watermark")
                if isinstance(wm, int) and MIN_WATERMARK < wm < MAX_WATERMARK:
                    lag.add_metric(labels, now - wm / 1000.0)
                if _number(extra.get("channel_fill")):
                    fill.add_metric(labels, extra["channel_fill"])
                if _number(extra.get("credits")):
                    credits.add_metric(labels, extra["credits"])
        yield from (job_info, rin, rout, late, malformed, busy, bp, lag, fill, credits)

    def _task_managers(self, now: float) -> Iterator[Metric]:
        def gauge(name: str, doc: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"flowsql_taskmanager_{name}", doc, labels=TM_LABELS)

        up = gauge("up", "1 while the TaskManager heartbeats, 0 once it is LOST.")
        age = gauge("heartbeat_age_seconds", "Seconds since the TaskManager's last heartbeat.")
        rss = gauge("rss_bytes", "Resident memory of the TaskManager process.")
        cpu = CounterMetricFamily(
            "flowsql_taskmanager_cpu_seconds", "CPU time (user + system) of the TaskManager process.",
            labels=TM_LABELS,
        )
        slots = gauge("slots", "Task slots of the TaskManager.")
        free = gauge("free_slots", "Free task slots of the TaskManager.")
        for tm in self.view.task_managers():
            labels = [tm.tm_id, tm.host]
            up.add_metric(labels, 1 if tm.state == TM_RUNNING else 0)
            age.add_metric(labels, max(now - tm.last_heartbeat, 0.0))
            if tm.rss_bytes is not None:
                rss.add_metric(labels, tm.rss_bytes)
            if tm.cpu_seconds is not None:
                cpu.add_metric(labels, tm.cpu_seconds)
            slots.add_metric(labels, tm.slots)
            free.add_metric(labels, tm.free_slots)
        yield from (up, age, rss, cpu, slots, free)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def make_registry(view: ClusterView, clock: Callable[[], float] = time.time) -> CollectorRegistry:
    """A private registry: the cluster collector plus this process's ``process_*`` metrics.
    ``clock`` is wall-clock epoch seconds (watermark lag, heartbeat age)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ClusterCollector(view, clock))
    ProcessCollector(registry=registry)
    return registry
