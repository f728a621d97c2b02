"""Response models of the REST API, with Flink's field names (hyphenated ones via aliases).

Contract:
- Every model serialises by alias, so the JSON (and ``/openapi.json``) carries Flink's names
  (``start-time``, ``slots-total``, ...); Python code builds them with the snake_case names.
- Fields Flink has but FlowSQL cannot measure are present with Flink's "unknown" values
  (``-1`` for times, ``0`` for byte counts); FlowSQL-only details live under a ``flowsql``
  field so Flink clients can ignore them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FlinkModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class ErrorResponse(FlinkModel):
    errors: list[str]


class Overview(FlinkModel):
    taskmanagers: int
    slots_total: int = Field(alias="slots-total")
    slots_available: int = Field(alias="slots-available")
    jobs_running: int = Field(alias="jobs-running")
    jobs_finished: int = Field(alias="jobs-finished")
    jobs_cancelled: int = Field(alias="jobs-cancelled")
    jobs_failed: int = Field(alias="jobs-failed")
    flink_version: str = Field(alias="flink-version")
    flink_commit: str = Field(alias="flink-commit")


class TaskCounts(FlinkModel):
    """Subtasks per execution state (lowercase, as in Flink's jobs overview)."""

    total: int = 0
    created: int = 0
    scheduled: int = 0
    deploying: int = 0
    running: int = 0
    finished: int = 0
    canceling: int = 0
    canceled: int = 0
    failed: int = 0
    reconciling: int = 0
    initializing: int = 0


class JobExtension(FlinkModel):
    """FlowSQL's additions to a job entry."""

    reason: str | None = None
    error: str | None = None


class JobOverviewEntry(FlinkModel):
    jid: str
    name: str
    state: str
    start_time: int = Field(alias="start-time")
    end_time: int = Field(alias="end-time")
    duration: int
    last_modification: int = Field(alias="last-modification")
    tasks: TaskCounts
    flowsql: JobExtension = Field(default_factory=JobExtension)


class JobsOverview(FlinkModel):
    jobs: list[JobOverviewEntry]


class JobIdStatus(FlinkModel):
    id: str
    status: str


class JobList(FlinkModel):
    jobs: list[JobIdStatus]


class VertexMetrics(FlinkModel):
    """Flink's IO metrics of a vertex. Bytes are not measured (0)."""

    read_bytes: int = Field(0, alias="read-bytes")
    read_bytes_complete: bool = Field(False, alias="read-bytes-complete")
    write_bytes: int = Field(0, alias="write-bytes")
    write_bytes_complete: bool = Field(False, alias="write-bytes-complete")
    read_records: int = Field(0, alias="read-records")
    read_records_complete: bool = Field(False, alias="read-records-complete")
    write_records: int = Field(0, alias="write-records")
    write_records_complete: bool = Field(False, alias="write-records-complete")
    accumulated_backpressured_time: int = Field(0, alias="accumulated-backpressured-time")
    accumulated_busy_time: int = Field(0, alias="accumulated-busy-time")


class Vertex(FlinkModel):
    id: str
    name: str
    max_parallelism: int = Field(alias="maxParallelism")
    parallelism: int
    status: str
    start_time: int = Field(alias="start-time")
    end_time: int = Field(alias="end-time")
    duration: int
    tasks: dict[str, int]
    metrics: VertexMetrics


class PlanInput(FlinkModel):
    num: int
    id: str
    ship_strategy: str
    exchange: str


class PlanNode(FlinkModel):
    id: str
    parallelism: int
    operator: str
    operator_strategy: str
    description: str
    inputs: list[PlanInput] = Field(default_factory=list)
    optimizer_properties: dict[str, str] = Field(default_factory=dict)


class Plan(FlinkModel):
    jid: str
    name: str
    type: str = "STREAMING"
    nodes: list[PlanNode]


class Backpressure(FlinkModel):
    """``level``: Flink's ok (<= 10 %) / low (<= 50 %) / high, from ``ratio`` (share of
    wall time the operator's subtasks were backpressured, over the last sample interval),
    else from ``channel-fill``; ``None`` when nothing is measured."""

    level: str | None = None
    ratio: float | None = None
    busy_ratio: float | None = Field(None, alias="busy-ratio")
    channel_fill: float | None = Field(None, alias="channel-fill")
    credits: int | None = None


class OperatorDetails(FlinkModel):
    id: str
    kind: str
    name: str
    parallelism: int
    vertex: str
    depth: int
    records_in: int = Field(alias="records-in")
    records_out: int = Field(alias="records-out")
    records_in_per_second: float | None = Field(alias="records-in-per-second")
    records_out_per_second: float | None = Field(alias="records-out-per-second")
    watermark: int | None
    watermark_lag_ms: int | None = Field(alias="watermark-lag-ms")
    late_records: int = Field(alias="late-records")
    malformed_records: int = Field(0, alias="malformed-records")  # skipped by a lenient format
    backpressure: Backpressure


class OperatorEdge(FlinkModel):
    source: str
    target: str
    partitioning: str
    keys: list[str]
    chained: bool


class JobDetailsExtension(FlinkModel):
    """Per-operator detail for the dashboard (a Flink vertex is a whole chain)."""

    operators: list[OperatorDetails]
    edges: list[OperatorEdge]
    malformed_records: int = Field(0, alias="malformed-records")  # summed over the operators
    reason: str | None = None
    error: str | None = None


class JobDetails(FlinkModel):
    jid: str
    name: str
    is_stoppable: bool = Field(alias="isStoppable")
    state: str
    job_type: str = Field("STREAMING", alias="job-type")
    start_time: int = Field(alias="start-time")
    end_time: int = Field(alias="end-time")
    duration: int
    max_parallelism: int = Field(-1, alias="maxParallelism")
    now: int
    timestamps: dict[str, int]
    vertices: list[Vertex]
    status_counts: dict[str, int] = Field(alias="status-counts")
    plan: Plan
    flowsql: JobDetailsExtension


class TaskException(FlinkModel):
    exception: str
    task: str | None
    location: str | None
    timestamp: int
    task_manager_id: str | None = Field(None, alias="taskManagerId")


class ExceptionHistoryEntry(FlinkModel):
    exception_name: str = Field(alias="exceptionName")
    stacktrace: str
    timestamp: int
    task_name: str | None = Field(alias="taskName")
    location: str | None
    task_manager_id: str | None = Field(None, alias="taskManagerId")
    failure_labels: dict[str, str] = Field(default_factory=dict, alias="failureLabels")
    concurrent_exceptions: list[str] = Field(default_factory=list, alias="concurrentExceptions")


class ExceptionHistory(FlinkModel):
    entries: list[ExceptionHistoryEntry]
    truncated: bool = False


class ExceptionsExtension(FlinkModel):
    message: str | None = None
    operator_id: str | None = Field(None, alias="operator-id")


class JobExceptions(FlinkModel):
    root_exception: str | None = Field(alias="root-exception")
    timestamp: int | None
    all_exceptions: list[TaskException] = Field(alias="all-exceptions")
    truncated: bool = False
    exception_history: ExceptionHistory = Field(alias="exceptionHistory")
    flowsql: ExceptionsExtension = Field(default_factory=ExceptionsExtension)


class Hardware(FlinkModel):
    cpu_cores: int = Field(alias="cpuCores")
    physical_memory: int = Field(alias="physicalMemory")
    free_memory: int = Field(-1, alias="freeMemory")
    managed_memory: int = Field(0, alias="managedMemory")


class TaskManagerExtension(FlinkModel):
    state: str
    host: str
    rss_bytes: int | None = Field(alias="rss-bytes")
    cpu_seconds: float | None = Field(alias="cpu-seconds")
    heartbeat_age_ms: int = Field(alias="heartbeat-age-ms")


class TaskManagerEntry(FlinkModel):
    """``timeSinceLastHeartbeat`` is, as in Flink despite its name, the epoch ms of the last
    heartbeat; its age is ``flowsql.heartbeat-age-ms``."""

    id: str
    path: str
    data_port: int = Field(alias="dataPort")
    jmx_port: int = Field(-1, alias="jmxPort")
    time_since_last_heartbeat: int = Field(alias="timeSinceLastHeartbeat")
    slots_number: int = Field(alias="slotsNumber")
    free_slots: int = Field(alias="freeSlots")
    hardware: Hardware
    flowsql: TaskManagerExtension


class TaskManagers(FlinkModel):
    taskmanagers: list[TaskManagerEntry]


class Config(FlinkModel):
    refresh_interval: int = Field(alias="refresh-interval")
    timezone_name: str = Field(alias="timezone-name")
    timezone_offset: int = Field(alias="timezone-offset")
    flink_version: str = Field(alias="flink-version")
    flink_revision: str = Field(alias="flink-revision")
    features: dict[str, bool]


class CheckpointCounts(FlinkModel):
    restored: int = 0
    total: int = 0
    in_progress: int = 0
    completed: int = 0
    failed: int = 0


class MinMaxAvg(FlinkModel):
    min: int = 0
    max: int = 0
    avg: int = 0


class CheckpointSummary(FlinkModel):
    state_size: MinMaxAvg = Field(default_factory=MinMaxAvg)
    checkpointed_size: MinMaxAvg = Field(default_factory=MinMaxAvg)
    end_to_end_duration: MinMaxAvg = Field(default_factory=MinMaxAvg)
    alignment_buffered: MinMaxAvg = Field(default_factory=MinMaxAvg)


class CheckpointEntry(FlinkModel):
    """One checkpoint as Flink's ``/jobs/{jobid}/checkpoints`` history lists it."""

    class_: str = Field(alias="@class")
    id: int
    status: str
    is_savepoint: bool = False
    savepoint_format: str | None = None
    trigger_timestamp: int
    latest_ack_timestamp: int
    state_size: int
    checkpointed_size: int
    end_to_end_duration: int
    alignment_buffered: int = 0
    processed_data: int = 0
    persisted_data: int = 0
    num_subtasks: int
    num_acknowledged_subtasks: int
    checkpoint_type: str = "CHECKPOINT"
    external_path: str | None = None
    failure_message: str | None = None
    discarded: bool = False
    alignment_duration: int = 0  # FlowSQL: the longest barrier alignment of a task (ms)


class RestoredCheckpoint(FlinkModel):
    id: int
    restore_timestamp: int
    is_savepoint: bool = False
    external_path: str | None = None


class LatestCheckpoints(FlinkModel):
    completed: CheckpointEntry | None = None
    savepoint: CheckpointEntry | None = None
    failed: CheckpointEntry | None = None
    restored: RestoredCheckpoint | None = None


class Checkpoints(FlinkModel):
    counts: CheckpointCounts
    summary: CheckpointSummary
    latest: LatestCheckpoints
    history: list[CheckpointEntry]


class StopRequest(FlinkModel):
    """Body of ``POST /jobs/{jobid}/stop`` (Flink's stop-with-savepoint)."""

    target_directory: str | None = Field(None, alias="targetDirectory")
    drain: bool = False


class SavepointRequest(FlinkModel):
    """Body of ``POST /jobs/{jobid}/savepoints`` (Flink's savepoint trigger)."""

    target_directory: str | None = Field(None, alias="target-directory")
    cancel_job: bool = Field(False, alias="cancel-job")


class TriggerResponse(FlinkModel):
    request_id: str = Field(alias="request-id")


class QueueStatus(FlinkModel):
    id: str  # IN_PROGRESS | COMPLETED


class FailureCause(FlinkModel):
    class_: str = Field(alias="class")
    stack_trace: str = Field(alias="stack-trace")


class SavepointOperation(FlinkModel):
    location: str | None = None
    failure_cause: FailureCause | None = Field(None, alias="failure-cause")


class SavepointStatus(FlinkModel):
    status: QueueStatus
    operation: SavepointOperation | None = None
