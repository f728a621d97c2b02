"""The streaming execution path of a Session: plan → JobGraph → the embedded MiniCluster.

Contract:
- Where jobs run (:func:`cluster`): by default one MiniCluster per process
  (:func:`flowsql.runtime.local.local_cluster`), started lazily by the first streaming
  statement and shared by every session (so SHOW JOBS / STOP JOB see the jobs of all sessions
  of the process). With ``SET 'execution.target' = 'remote'`` and ``'jobmanager.address'`` (or
  ``flowsql shell --jobmanager HOST:PORT``) they run on that cluster
  (:class:`flowsql.runtime.cluster.client.RemoteCluster`): they outlive the session, and SHOW
  JOBS / STOP JOB see every job of the cluster.
- SELECT (:func:`run_query`):
  * bounded input (every source ends: datagen with 'number-of-rows', nexmark with
    'events.num', filesystem): the job runs to the end and the statement returns
    ``Result(kind='table')`` with all rows. An updating result (unbounded GROUP BY, DISTINCT)
    is a changelog; it is applied to the final table (``+I``/``+U`` add a row, ``-U``/``-D``
    remove one), so the table shows the final result, as Flink's table result mode does.
    ``ORDER BY <time attribute>`` / ``LIMIT`` are applied to that table. ``Result.job_id``
    names the finished job; ``extra['changelog']`` holds the raw changelog when there was one.
  * unbounded input: the job is submitted and the statement returns at once with
    ``Result(kind='job', job_id=...)`` and ``extra['stream']`` = a :class:`StreamingQuery`.
    **Protocol for faces (shell, gateway)**: iterate ``stream.batches(timeout)`` (or call
    ``stream.poll(timeout)``) to receive ``pa.RecordBatch`` objects as they are produced —
    with a ``$row_kind`` int8 column (:class:`flowsql.messages.RowKind`) when
    ``stream.changelog`` is true; ``stream.schema`` is the result schema (without row kind);
    ``stream.cancel()`` stops the job (call it on Ctrl-C or when the user leaves the result
    view); ``stream.done`` tells whether the job ended. The job's error (if it fails) is
    raised by ``poll``/``batches``. Results queue with a bounded capacity, so a face that
    stops reading slows the job down rather than exhausting memory.
- INSERT INTO / EXECUTE STATEMENT SET (:func:`run_inserts`): ONE job with one sink per
  INSERT; returns ``Result(kind='job', job_id, message='[INFO] Submitting SQL update
  statement to the cluster...')`` and ``extra['bounded']`` (true when every source ends, so
  the job finishes by itself). With ``SET 'table.dml-sync' = 'true'`` it waits for the job
  (Ctrl-C cancels it) and raises the job's error.
- EXPLAIN (:func:`explain`): :func:`flowsql.planner.explain.explain_text`.
- SHOW JOBS: ``job id``, ``job name``, ``status``, ``start time``, ``records in`` (rows
  read by the sources), ``records out`` (rows the sinks received), ``late records`` (rows
  window operators found late: dropped, or written to the 'late-data.sink' table),
  ``malformed`` (records the sources skipped as malformed: ``json.ignore-parse-errors`` and
  the other formats' lenient options), ``restarts``, ``last checkpoint`` — one row
  per job, oldest first, counts live while the job runs
  (:meth:`flowsql.runtime.jobmanager.jobmanager.JobManager.totals`); STOP JOB 'id': cancels
  the job; ``WITH SAVEPOINT`` stops it with a savepoint into
  'execution.checkpointing.savepoint-dir' (it ends FINISHED) and returns the savepoint's
  path; ``WITH SAVEPOINT WITH DRAIN`` first fires every event-time window (the sources emit
  the final watermark before the savepoint), as Flink's ``--drain``. ``WITH DRAIN`` alone is
  a ValidationError: drain exists only with a savepoint, as in Flink.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import (
    ExecutionError,
    NotSupportedError,
    QueryCancelled,
    UnknownJobError,
    ValidationError,
)
from flowsql.messages import ROW_KIND
from flowsql.operators.sink import CollectResult
from flowsql.planner.translate import COLLECT_RESOURCE
from flowsql.session.result import Result
from flowsql.sql import statements as st
from flowsql.state.keyindex import KeyIndex, identity_columns

STREAM_CAPACITY = 64
SUBMITTED = (
    "[INFO] Submitting SQL update statement to the cluster...\n"
    "[INFO] SQL update statement has been successfully submitted to the cluster:"
)


_remote: dict[str, Any] = {}


def cluster(session: Any = None) -> Any:
    """The session's cluster: the process-wide MiniCluster, or the remote one it targets."""
    if session is not None and session.config.get("execution.target") == "remote":
        address = (session.config.get("jobmanager.address") or "").strip()
        if not address:
            raise ValidationError(
                "'execution.target' is 'remote' but 'jobmanager.address' is not set",
                hint="SET 'jobmanager.address' = 'host:port'; (or start the shell with --jobmanager)",
            )
        if address not in _remote:
            from flowsql.runtime.cluster.client import RemoteCluster

            _remote[address] = RemoteCluster(address)
        return _remote[address]
    from flowsql.runtime.local import local_cluster

    return local_cluster()


EMBEDDED_PARALLELISM_WARNING = (
    "'parallelism.default' = '{p}' runs at parallelism 1 in the embedded engine: its subtasks "
    "would be threads sharing one Python interpreter, which is slower, not faster. For "
    "parallel speed-up run a cluster (`flowsql cluster start --taskmanagers {p}`, then "
    "`flowsql shell --jobmanager HOST:PORT`), or SET 'execution.embedded.parallelism' = "
    "'threads' to run the threads anyway."
)


def _warnings(session: Any) -> list[str]:
    from flowsql.planner.translate import embedded_clamp

    raw = session.config.get("parallelism.default") or "1"
    if raw.strip().isdigit() and int(raw) > 1 and embedded_clamp(session.config):
        return [EMBEDDED_PARALLELISM_WARNING.format(p=int(raw))]
    return []


def _job_config(session: Any) -> dict[str, str]:
    config = dict(session.config.items())
    config.setdefault("table.local-time-zone", session.config.get("table.local-time-zone") or "UTC")
    return config


class StreamingQuery:
    """A running SELECT whose rows a face reads live (see the module protocol)."""

    def __init__(self, job_id: str, result: CollectResult, schema: pa.Schema, changelog: bool,
                 owner: Any = None) -> None:
        self.owner = owner if owner is not None else cluster()
        self.job_id = job_id
        self.result = result
        self.schema = schema
        self.changelog = changelog

    def poll(self, timeout: float | None = None) -> pa.RecordBatch | None:
        return self.result.poll(timeout)

    def batches(self, timeout: float | None = None) -> Iterator[pa.RecordBatch]:
        """Batches as they arrive, until the job ends; waits at most ``timeout`` per batch
        and then yields nothing more for this call (call again to continue)."""
        while not self.result.done:
            batch = self.result.poll(timeout)
            if batch is None:
                return
            yield batch

    @property
    def done(self) -> bool:
        return self.result.done

    def cancel(self) -> None:
        self.result.close()
        try:
            self.owner.cancel(self.job_id, wait=False)
        except ExecutionError:
            pass


# -- SELECT ----------------------------------------------------------------------------------
def run_query(session: Any, stmt: st.Query) -> Result:
    from flowsql.planner.plan import plan_query

    planned = plan_query(session, stmt.query, stmt.text)
    schema = _result_schema(planned)
    if not planned.bounded:
        result = CollectResult(capacity=STREAM_CAPACITY)
        owner = cluster(session)
        job_id = owner.submit(planned.graph, resources={COLLECT_RESOURCE: result},
                              config=_job_config(session))
        out = Result("job", message="[INFO] Streaming query submitted; reading results live.",
                     job_id=job_id)
        out.extra["stream"] = StreamingQuery(job_id, result, schema, planned.updating, owner)
        out.warnings = _warnings(session) + planned.warnings
        return out
    result = CollectResult()
    job_id = cluster(session).submit(planned.graph, resources={COLLECT_RESOURCE: result},
                                     config=_job_config(session))
    table = _wait_table(session, job_id, result)
    table = _conform(table, schema, planned.updating)
    out_extra: dict[str, Any] = {}
    if planned.updating:
        out_extra["changelog"] = table
        table = apply_changelog(table)
    table = _client_side(table, planned.client)
    out = Result.rows(table, message=f"{table.num_rows} row(s) in set")
    out.job_id = job_id
    out.extra.update(out_extra)
    out.warnings = _warnings(session) + planned.warnings
    return out


def _wait_table(session: Any, job_id: str, result: CollectResult) -> pa.Table:
    c = cluster(session)

    def hook() -> None:
        c.cancel(job_id, wait=False)

    session.add_cancel_hook(hook)
    try:
        batches = list(result.batches())
        c.result(job_id)
    except QueryCancelled:
        raise
    finally:
        session.remove_cancel_hook(hook)
    if batches:
        return pa.Table.from_batches(batches)
    return pa.table({})


def _result_schema(planned: Any) -> pa.Schema:
    from flowsql.planner.builder import arrow_schema

    return arrow_schema(planned.optimized[0].schema)[0]


def _conform(table: pa.Table, schema: pa.Schema, changelog: bool) -> pa.Table:
    """The collected rows with the planned schema (an empty result still has its columns)."""
    if table.num_columns == 0:
        fields = list(schema) + ([pa.field(ROW_KIND, pa.int8())] if changelog else [])
        return pa.schema(fields).empty_table()
    return table


def apply_changelog(table: pa.Table) -> pa.Table:
    """The final table of a changelog: per distinct row, (+I/+U count) - (-U/-D count) copies,
    ordered by first appearance. Vectorized (row ids from a KeyIndex over whole rows)."""
    if ROW_KIND not in table.column_names:
        return table
    kind = table.column(ROW_KIND)
    data = table.drop_columns([ROW_KIND])
    if table.num_rows == 0:
        return data
    sign = np.where(np.isin(kind.to_numpy(), [1, 3]), -1, 1).astype(np.int64)
    ident = identity_columns(data)  # whole rows as keys (ROW columns flattened)
    try:
        ids = KeyIndex(list(ident)).lookup(pa.table(ident))
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as e:  # e.g. ARRAY / MAP columns
        raise NotSupportedError(f"showing an updating result with column types {data.schema.types}: {e}") from None
    uniq, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    total = np.bincount(inverse, weights=sign, minlength=len(uniq)).astype(np.int64)
    keep = np.flatnonzero(total > 0)
    keep = keep[np.argsort(first[keep], kind="stable")]  # by first appearance
    out = data.take(pa.array(np.repeat(first[keep], total[keep])))
    return out.cast(data.schema) if out.schema != data.schema else out


def _client_side(table: pa.Table, client: Any) -> pa.Table:
    if client.order_by:
        table = table.take(_sort_indices(table, client.order_by))
    if client.limit is not None:
        table = table.slice(0, client.limit)
    return table


def _sort_indices(table: pa.Table, order_by: list[tuple[str, bool]]) -> pa.Array:
    """Row order for ORDER BY with Flink's null collation: NULL is the lowest value, so it
    comes first ascending and last descending (pyarrow places nulls one way for all keys, so
    each key is preceded by its own is-null key)."""
    work, keys = {}, []
    for i, (name, desc) in enumerate(order_by):
        col = table.column(name)
        work[f"n{i}"] = pc.is_null(col)
        work[f"v{i}"] = col
        keys += [(f"n{i}", "ascending" if desc else "descending"),
                 (f"v{i}", "descending" if desc else "ascending")]
    return pc.sort_indices(pa.table(work), sort_keys=keys)


# -- INSERT / STATEMENT SET ------------------------------------------------------------------
def run_inserts(session: Any, inserts: list[st.Insert], text: str = "") -> Result:
    from flowsql.planner.plan import plan_inserts

    planned = plan_inserts(session, inserts, text)
    c = cluster(session)
    job_id = c.submit(planned.graph, config=_job_config(session))
    out = Result("job", message=SUBMITTED, job_id=job_id)
    out.warnings = _warnings(session) + planned.warnings
    out.extra["graph"] = planned.graph
    out.extra["bounded"] = planned.bounded  # every source ends: the job finishes by itself
    if session.config.get_bool("table.dml-sync"):
        def hook() -> None:
            c.cancel(job_id, wait=False)

        session.add_cancel_hook(hook)
        try:
            c.result(job_id)
        finally:
            session.remove_cancel_hook(hook)
        out.message = f"[INFO] Complete execution of the SQL update statement (job {job_id})."
    return out


def run_insert(session: Any, stmt: st.Insert) -> Result:
    return run_inserts(session, [stmt], stmt.text)


def run_statement_set(session: Any, stmt: st.StatementSet) -> Result:
    return run_inserts(session, list(stmt.inserts), stmt.text)


# -- EXPLAIN ---------------------------------------------------------------------------------
def explain(session: Any, stmt: st.Explain) -> Result:
    from flowsql.planner.explain import explain_text
    from flowsql.planner.plan import plan_inserts, plan_query

    inner = stmt.statement
    if isinstance(inner, st.Query):
        planned = plan_query(session, inner.query, inner.text)
    elif isinstance(inner, st.Insert):
        planned = plan_inserts(session, [inner], inner.text)
    elif isinstance(inner, st.StatementSet):
        planned = plan_inserts(session, list(inner.inserts), inner.text)
    else:
        raise NotSupportedError(f"EXPLAIN of {type(inner).__name__}")
    text = explain_text(planned)
    out = Result.ok(text)
    out.warnings = planned.warnings
    out.extra["plan"] = text
    out.extra["graph"] = planned.graph
    return out


# -- jobs ------------------------------------------------------------------------------------
def show_jobs(session: Any) -> Result:
    c = cluster(session)
    jobs, totals = [], []
    for job in c.list_jobs():
        try:
            totals.append(c.totals(job.job_id))
        except UnknownJobError:
            continue  # an ended job forgotten since the listing (the JobManager keeps the latest)
        jobs.append(job)
    start = [int(j.start_time * 1000) if j.start_time else None for j in jobs]
    table = pa.table({
        "job id": pa.array([j.job_id for j in jobs], pa.string()),
        "job name": pa.array([j.name for j in jobs], pa.string()),
        "status": pa.array([j.state for j in jobs], pa.string()),
        "start time": pa.array(start, pa.timestamp("ms")),
        "records in": pa.array([t.records_in for t in totals], pa.int64()),
        "records out": pa.array([t.records_out for t in totals], pa.int64()),
        "late records": pa.array([t.late_records for t in totals], pa.int64()),
        # records a lenient format skipped; a short header keeps the table narrow in a terminal
        "malformed": pa.array([t.malformed_records for t in totals], pa.int64()),
        "restarts": pa.array([j.restarts or 0 for j in jobs], pa.int64()),
        "last checkpoint": pa.array([j.last_checkpoint for j in jobs], pa.int64()),
    })
    return Result.rows(table)


def stop_job(session: Any, stmt: st.StopJob) -> Result:
    if stmt.with_drain and not stmt.with_savepoint:
        raise ValidationError(
            "STOP JOB ... WITH DRAIN needs WITH SAVEPOINT: drain fires every event-time "
            "window, then the job stops with a savepoint",
            hint=f"STOP JOB '{stmt.job_id}' WITH SAVEPOINT WITH DRAIN;  (or STOP JOB "
                 f"'{stmt.job_id}'; to cancel without firing windows)")
    if stmt.with_savepoint:
        directory = (session.config.get("execution.checkpointing.savepoint-dir")
                     or session.config.get("state.savepoints.dir") or "").strip()
        if not directory:
            raise ValidationError(
                "STOP JOB ... WITH SAVEPOINT needs a savepoint directory",
                hint="SET 'execution.checkpointing.savepoint-dir' = '/path/to/savepoints';")
        path = cluster(session).stop_with_savepoint(stmt.job_id, directory,
                                                    drain=stmt.with_drain)
        return Result.rows(pa.table({"savepoint path": pa.array([path], pa.string())}))
    info = cluster(session).cancel(stmt.job_id, wait=True)
    if info.state not in ("CANCELED", "FINISHED", "FAILED"):
        raise ExecutionError(f"job {stmt.job_id} did not stop in time (state {info.state})")
    return Result.ok("[INFO] Execute statement succeeded.")
