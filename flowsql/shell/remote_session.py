"""The shell's session when it runs over a SQL gateway (``flowsql shell --gateway URL``).

Contract — :class:`RemoteSession` stands in for :class:`flowsql.session.Session` where the
shell uses one (``execute_statement``, ``cancel``, ``config``, ``home``, ``close``), over
Flink's SQL Gateway REST API (:class:`~flowsql.shell.gateway_client.GatewayClient`):
- A statement is sent as its text; parsing errors are found by the shell before it is sent
  (the same parser), and every other error comes back as the gateway's rendered FlowSQL error.
  ``cancel`` (Ctrl-C) cancels the running operation; the statement then raises
  ``QueryCancelled``.
- A query (``isQueryResult``) is shown as a live result, bounded or not, as Flink's SQL client
  does over its gateway: ``Result.extra['stream']`` is a :class:`RemoteStream` (the
  ``StreamingQuery`` protocol of :mod:`flowsql.session.streaming`) reading result pages; its
  batches carry ``$row_kind`` (``changelog`` is true: the REST API gives every row its kind).
  Leaving the view cancels and closes the operation.
- Anything else is read to the end: rows become ``Result.rows``, Flink's one-row ``OK``
  answer becomes an ``[INFO]`` message, a job id (INSERT) a submitted-job result.
- ``config`` is local: only the shell's own ``sql-client.*`` keys are read from it; a ``SET``
  is applied on the gateway and, when it names such a key, here too.
- :attr:`jobs` gives the shell's job waiter and ``STOP JOB`` line the gateway's jobs (through
  ``SHOW JOBS`` / ``STOP JOB`` statements). Jobs run where the gateway runs, so they outlive
  the shell: a script does not wait for the jobs its INSERTs submitted (``SET
  'table.dml-sync' = 'true'`` makes an INSERT wait, on the gateway).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from flowsql.config import SessionConfig, flowsql_home
from flowsql.errors import QueryCancelled
from flowsql.messages import ROW_KIND
from flowsql.session.result import Result
from flowsql.shell.gateway_client import GatewayClient, Page
from flowsql.sql import statements as st

_SUBMITTED = (
    "[INFO] Submitting SQL update statement to the cluster...\n"
    "[INFO] SQL update statement has been successfully submitted to the cluster:"
)
_NOT_READY_WAIT_S = 0.05


class RemoteSession:
    def __init__(self, url: str, token: str | None = None, home: Path | None = None) -> None:
        self.home = Path(home) if home else flowsql_home()
        self.home.mkdir(parents=True, exist_ok=True)
        self.client = GatewayClient(url, token)
        self.config = SessionConfig()
        self.catalog = None  # completion offers keywords only
        self.jobs = RemoteJobs(self)
        self._current: str | None = None
        self._cancelled = threading.Event()

    # -- statements ------------------------------------------------------------------------
    def execute_statement(self, stmt: st.Statement) -> Result:
        started = time.perf_counter()
        result = self._run(stmt.text)
        if isinstance(stmt, st.Set) and stmt.key and stmt.key.startswith("sql-client."):
            self.config.set(stmt.key, stmt.value or "")
        result.elapsed = time.perf_counter() - started
        result.statement = stmt.text
        return result

    def _run(self, text: str) -> Result:
        self._cancelled.clear()
        handle = self.client.submit(text)
        self._current = handle
        try:
            state = self.client.wait(handle, self._cancelled)
            if state == "CANCELED" or self._cancelled.is_set():
                raise QueryCancelled("cancelled")
            page = self._first_page(handle)  # an ERROR operation raises its error here
        except BaseException:
            self._close_quietly(handle)
            raise
        finally:
            self._current = None
        if page.is_query:
            return Result("job", job_id=_job_id(page.job_id),
                          extra={"stream": RemoteStream(self, handle, page)})
        table = self._drain(handle, page)
        self._close_quietly(handle)
        return _plain_result(table, page)

    def _first_page(self, handle: str) -> Page:
        page = self.client.fetch(handle, 0)
        while page.result_type == "NOT_READY":
            if self._cancelled.is_set():
                raise QueryCancelled("cancelled")
            time.sleep(_NOT_READY_WAIT_S)
            page = self.client.fetch(handle, 0)
        return page

    def _drain(self, handle: str, page: Page) -> pa.Table:
        tables = [page.table]
        while page.next_token is not None:
            page = self.client.fetch(handle, page.next_token)
            if page.result_type == "NOT_READY":
                time.sleep(_NOT_READY_WAIT_S)
                continue
            tables.append(page.table)
        return pa.concat_tables(tables).drop_columns([ROW_KIND])

    def _close_quietly(self, handle: str) -> None:
        try:
            self.client.close_operation(handle)
        except Exception:  # noqa: BLE001 - the operation may already be gone
            pass

    def cancel(self) -> None:
        self._cancelled.set()
        handle = self._current
        if handle is not None:
            try:
                self.client.cancel(handle)
            except Exception:  # noqa: BLE001 - cancelling must never raise
                pass

    def close(self) -> None:
        self.client.close()


def _job_id(flink_id: str | None) -> str | None:
    """A FlowSQL job id from Flink's ``jobID`` (32 hex digits: ours left-padded with zeros)."""
    if flink_id and len(flink_id) == 32 and flink_id.startswith("0" * 16):
        return flink_id[16:]
    return flink_id


def _plain_result(table: pa.Table, page: Page) -> Result:
    if page.result_kind == "SUCCESS" and table.column_names == ["result"]:
        return Result.ok("[INFO] Execute statement succeeded.")
    if page.job_id and table.column_names == ["job id"]:
        # the job runs in the gateway's engine, not the shell's: a script does not wait for it
        return Result("job", job_id=_job_id(page.job_id), message=_SUBMITTED, extra={"bounded": False})
    return Result.rows(table)


class RemoteStream:
    """A query's result pages as the ``StreamingQuery`` protocol (see the module contract)."""

    changelog = True

    def __init__(self, session: RemoteSession, handle: str, first: Page) -> None:
        self._session = session
        self._client = session.client
        self.handle = handle
        self.job_id = _job_id(first.job_id) or handle
        self.schema = first.table.schema.remove(first.table.schema.get_field_index(ROW_KIND))
        self._token = first.next_token
        self._pending = [b for b in first.table.to_batches() if b.num_rows]
        self._done = first.next_token is None and not self._pending
        self._closed = False

    def poll(self, timeout: float | None = None) -> pa.RecordBatch | None:
        deadline = time.monotonic() + (timeout if timeout is not None else 3600.0)
        while not self._pending and not self._done:
            page = self._client.fetch(self.handle, self._token)
            if page.result_type == "EOS" or page.next_token is None:
                self._done = True
            else:
                self._token = page.next_token
            self._pending.extend(b for b in page.table.to_batches() if b.num_rows)
            if self._pending or self._done:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(_NOT_READY_WAIT_S, left))
        if self._pending:
            return self._pending.pop(0)
        self._end()
        return None

    def batches(self, timeout: float | None = None):
        while not self.done:
            batch = self.poll(timeout)
            if batch is None:
                return
            yield batch

    @property
    def done(self) -> bool:
        return self._done and not self._pending

    def cancel(self) -> None:
        if not self._done:
            try:
                self._client.cancel(self.handle)
            except Exception:  # noqa: BLE001 - the job may have ended meanwhile
                pass
        self._done = True
        self._pending = []
        self._end()

    def _end(self) -> None:
        if not self._closed:
            self._closed = True
            self._session._close_quietly(self.handle)


@dataclass
class RemoteJobInfo:
    job_id: str
    state: str
    error: str | None = None


class RemoteJobs:
    """The gateway's jobs as the shell's job waiter reads them (``job``, ``wait``, ``cancel``)."""

    def __init__(self, session: RemoteSession) -> None:
        self._session = session

    def job(self, job_id: str) -> RemoteJobInfo:
        table = self._session._run("SHOW JOBS").table
        rows = table.to_pylist() if table is not None else []
        for row in rows:
            if row.get("job id") == job_id:
                return RemoteJobInfo(job_id, str(row.get("status")))
        return RemoteJobInfo(job_id, "UNKNOWN")

    def wait(self, job_id: str, timeout: float) -> RemoteJobInfo:
        info = self.job(job_id)
        if info.state not in ("FINISHED", "FAILED", "CANCELED"):
            time.sleep(timeout)
            info = self.job(job_id)
        return info

    def cancel(self, job_id: str, wait: bool = True) -> RemoteJobInfo:
        self._session._run(f"STOP JOB '{job_id}'")
        return self.job(job_id)

