"""One statement submitted to a gateway session: its state, its result and paged fetching.

Contract (the protocol faces — Flink's REST API, the Postgres wire — build on this):
- An :class:`Operation` is created ``PENDING`` and run by its session's worker
  (:meth:`Operation.run`): ``RUNNING`` while the statement executes, then ``FINISHED`` (its
  result can be fetched), ``ERROR`` (``error`` holds the :class:`FlowSQLError`; anything
  else escaping the engine becomes an ``ExecutionError`` naming it as internal), or
  ``CANCELED`` (``TIMEOUT`` when cancelled because its execution timeout ran out).
  :meth:`Operation.close` ends it for good (``CLOSED``): a running job of a
  live query is cancelled; a submitted INSERT job keeps running, as in Flink.
  The names are Flink's ``OperationStatus``.
- ``config`` holds settings for this statement only (Flink's ``executionConfig``): applied
  to the session's configuration while it runs, then the session's own are restored.
- A streaming ``SELECT`` is ``FINISHED`` as soon as its job is submitted (as in Flink): its
  rows are fetched while the job runs, with a ``$row_kind`` column
  (:class:`flowsql.messages.RowKind`) when the result is a changelog.
- :meth:`Operation.fetch` ``(token, max_rows)`` pages the result, Flink's ``ResultFetcher``
  rules: token ``n`` (the next one) returns new rows and moves on; ``n - 1`` returns the last
  page again (a client retrying after a lost response); any other token is a
  ``ValidationError``. A page is a :class:`ResultPage`: ``NOT_READY`` (nothing yet: the
  statement still runs, or a live query has no new rows; fetch the same token again),
  ``PAYLOAD`` (rows, and ``next_token``) or ``EOS`` (no more rows, ``next_token`` None).
  The first page (token 0) of a finished statement is always ``PAYLOAD``, empty or not, so a
  client learns the columns at once.
- Bounded memory with a slow reader: a live query's rows are pulled from its job only when a
  client fetches (at most ``max_rows`` per page). Between fetches they wait in the job's
  bounded result queue (:data:`flowsql.session.streaming.STREAM_CAPACITY` batches), so a
  client that stops reading slows the job down (backpressure) and never grows the gateway's
  memory; an idle session is closed by its manager after the idle timeout, which cancels
  its live queries. A bounded result is held whole (DuckDB produced it whole) and served in
  zero-copy pages.
"""

from __future__ import annotations

import contextlib
import enum
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from flowsql.errors import ExecutionError, FlowSQLError, QueryCancelled, ValidationError
from flowsql.messages import ROW_KIND
from flowsql.session import Result, Session

DEFAULT_PAGE_ROWS = 1000
LIVE_POLL_S = 0.05  # how long one fetch of a live query waits for its first new batch


class OperationStatus(enum.Enum):
    INITIALIZED = "INITIALIZED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    CANCELED = "CANCELED"
    CLOSED = "CLOSED"
    ERROR = "ERROR"
    TIMEOUT = "TIMEOUT"

    @property
    def terminal(self) -> bool:
        return self in (OperationStatus.FINISHED, OperationStatus.CANCELED,
                        OperationStatus.CLOSED, OperationStatus.ERROR, OperationStatus.TIMEOUT)


@dataclass
class ResultPage:
    """One fetched page. ``data`` has the result's columns (plus ``$row_kind`` for a
    changelog); ``kind`` is ``SUCCESS`` (a statement without rows: ``data`` is one ``result``
    = ``OK`` row, as Flink answers) or ``SUCCESS_WITH_CONTENT``."""

    result_type: str  # NOT_READY | PAYLOAD | EOS
    schema: pa.Schema
    data: pa.Table
    next_token: int | None
    is_query: bool = False
    job_id: str | None = None
    kind: str = "SUCCESS_WITH_CONTENT"
    changelog: bool = False


@dataclass
class Operation:
    session: Session
    statement: str
    handle: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: OperationStatus = OperationStatus.PENDING
    error: FlowSQLError | None = None
    result: Result | None = None
    created: float = field(default_factory=time.time)
    config: dict[str, str] = field(default_factory=dict)  # SET for this statement only

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._token = 0  # the next token to serve
        self._last: ResultPage | None = None  # page of token - 1, for retries
        self._offset = 0  # rows of a bounded result served so far
        self._carry: pa.RecordBatch | None = None  # live rows fetched beyond a page

    # -- lifecycle -----------------------------------------------------------------------
    def run(self) -> None:
        """Execute the statement (on the session's worker thread)."""
        with self._lock:
            if self.status is not OperationStatus.PENDING:
                self._done.set()
                return
            self.status = OperationStatus.RUNNING
        try:
            with _overrides(self.session, self.config):
                result = self.session.execute_one(self.statement)
        except QueryCancelled:
            self._end(OperationStatus.CANCELED)
            return
        except FlowSQLError as e:
            self.error = e
            self._end(OperationStatus.ERROR)
            return
        except RecursionError:  # a statement nested deeper than a later stage can walk
            self.error = ValidationError("the statement is nested too deeply to run")
            self._end(OperationStatus.ERROR)
            return
        except Exception as e:  # noqa: BLE001 - an engine bug must not kill the worker
            err = ExecutionError(f"internal error: {type(e).__name__}: {e}")
            err.__cause__ = e
            self.error = err
            self._end(OperationStatus.ERROR)
            return
        with self._lock:
            self.result = result
            if self.status is OperationStatus.RUNNING:
                self.status = OperationStatus.FINISHED
            else:  # cancelled or closed while it ran: a live query it started goes too
                self._stop_stream()
        self._done.set()

    def _end(self, status: OperationStatus) -> None:
        with self._lock:
            if self.status is OperationStatus.RUNNING:
                self.status = status
        self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the statement has executed (any state but PENDING / RUNNING)."""
        return self._done.wait(timeout)

    def cancel(self, status_after: OperationStatus = OperationStatus.CANCELED) -> None:
        """Stop the statement; ``status_after`` is CANCELED, or TIMEOUT when its execution
        timeout ran out."""
        with self._lock:
            status = self.status
            if status.terminal and status is not OperationStatus.FINISHED:
                return
            self.status = status_after
        if status is OperationStatus.RUNNING:
            self.session.cancel()
        elif status is OperationStatus.PENDING:
            self._done.set()
        self._stop_stream()

    def close(self) -> None:
        with self._lock:
            status = self.status
            self.status = OperationStatus.CLOSED
        if status is OperationStatus.RUNNING:
            self.session.cancel()
        self._done.set()
        self._stop_stream()

    def _stop_stream(self) -> None:
        stream = self.stream
        if stream is not None and not stream.done:
            stream.cancel()

    @property
    def stream(self):  # -> StreamingQuery | None
        return self.result.extra.get("stream") if self.result is not None else None

    @property
    def job_id(self) -> str | None:
        return self.result.job_id if self.result is not None else None

    # -- results -------------------------------------------------------------------------
    def fetch(self, token: int, max_rows: int = DEFAULT_PAGE_ROWS) -> ResultPage:
        max_rows = max(int(max_rows), 1)
        with self._lock:
            status = self.status
            if status is OperationStatus.ERROR:
                assert self.error is not None
                raise self.error
            if status in (OperationStatus.CANCELED, OperationStatus.CLOSED,
                          OperationStatus.TIMEOUT):
                raise ValidationError(f"operation {self.handle} is {status.value.lower()}; "
                                      "its results can no longer be fetched")
            if status is not OperationStatus.FINISHED:
                if token != self._token:
                    raise _bad_token(token, self._token)
                return ResultPage("NOT_READY", pa.schema([]), pa.table({}), token)
            if token == self._token - 1 and self._last is not None:
                return self._last
            if token != self._token:
                raise _bad_token(token, self._token)
            page = self._next_page(token, max_rows)
            if page.result_type != "NOT_READY":
                self._last = page
                self._token = token + 1
            return page

    def _next_page(self, token: int, max_rows: int) -> ResultPage:
        result = self.result
        assert result is not None
        stream = self.stream
        if stream is not None:
            return self._live_page(token, max_rows, stream)
        table, kind = _result_table(result)
        is_query = result.kind == "table" and _is_query(result.statement)
        common = {"is_query": is_query, "job_id": result.job_id, "kind": kind}
        if token > 0 and self._offset >= table.num_rows:  # the first page is always PAYLOAD
            return ResultPage("EOS", table.schema, table.slice(0, 0), None, **common)
        page = table.slice(self._offset, max_rows)
        self._offset += page.num_rows
        return ResultPage("PAYLOAD", table.schema, page, token + 1, **common)

    def _live_page(self, token: int, max_rows: int, stream) -> ResultPage:
        schema = stream.schema
        common = {"is_query": True, "job_id": stream.job_id, "changelog": stream.changelog}
        full = schema.append(pa.field(ROW_KIND, pa.int8())) if stream.changelog else schema
        batches: list[pa.RecordBatch] = []
        rows = 0
        if self._carry is not None:
            batches.append(self._carry)
            rows += self._carry.num_rows
            self._carry = None
        wait = LIVE_POLL_S
        while rows < max_rows:
            if stream.done and not batches:
                break
            batch = stream.poll(wait)  # raises the job's error
            if batch is None:
                break
            wait = 0.0
            if batch.num_rows:
                batches.append(batch)
                rows += batch.num_rows
        if rows > max_rows:  # keep what does not fit for the next page
            table = pa.Table.from_batches(batches, schema=full)
            self._carry = table.slice(max_rows).combine_chunks().to_batches()[0]
            table = table.slice(0, max_rows)
        else:
            table = pa.Table.from_batches(batches, schema=full)
        if table.num_rows or token == 0:  # the first page gives the columns even when empty
            return ResultPage("PAYLOAD", full, table, token + 1, **common)
        if stream.done and self._carry is None:
            return ResultPage("EOS", full, table, None, **common)
        return ResultPage("NOT_READY", full, table, token, **common)


@contextlib.contextmanager
def _overrides(session: Session, config: dict[str, str]) -> Iterator[None]:
    """Apply ``config`` to the session while one statement runs, then restore it."""
    if not config:
        yield
        return
    saved = session.config.items()
    try:
        for key, value in config.items():
            session.config.set(key, value)
        yield
    finally:
        for key in config:
            if key in saved:
                session.config.set(key, saved[key])
            else:
                session.config.reset(key)


def _bad_token(token: int, expected: int) -> ValidationError:
    allowed = f"{expected - 1} or {expected}" if expected > 0 else str(expected)
    return ValidationError(f"result token {token} is not valid here: expecting {allowed}")


def _result_table(result: Result) -> tuple[pa.Table, str]:
    """The rows a client sees for a result: the table, or Flink's one-row answers."""
    if result.kind == "table" and result.table is not None:
        return result.table, "SUCCESS_WITH_CONTENT"
    if result.kind == "job":
        return pa.table({"job id": pa.array([result.job_id], pa.string())}), \
            "SUCCESS_WITH_CONTENT"
    return pa.table({"result": pa.array(["OK"], pa.string())}), "SUCCESS"


def _is_query(statement: str) -> bool:
    head = statement.lstrip().lstrip("(").split(None, 1)
    return bool(head) and head[0].upper() in ("SELECT", "WITH", "VALUES")
