"""The routes of Flink's SQL Gateway REST API, for one API version, plus FlowSQL's streaming
endpoint.

Contract (``{sh}`` a session handle, ``{oh}`` an operation handle, both UUIDs):
- ``GET /api_versions`` → ``{"versions": ["V1", ...]}`` (the advertised ones);
  ``GET /info`` → ``{"productName": "FlowSQL", "version"}``.
- ``POST /sessions`` ``{sessionName, properties}`` → ``{sessionHandle}``;
  ``GET /sessions/{sh}`` → ``{properties}`` (the session's SET configuration);
  ``DELETE /sessions/{sh}`` → ``{"status": "CLOSED"}``; ``POST /sessions/{sh}/heartbeat`` → ``{}``.
- v2+: ``POST /sessions/{sh}/configure-session`` ``{statement, executionTimeout}`` runs the
  statement to its end (or until ``executionTimeout`` ms, then cancels it: 400) → ``{}``;
  ``GET /sessions/{sh}/complete-statement`` with ``statement`` and ``position`` as query
  parameters (or, as Flink's own client sends them, a JSON body) → ``{candidates}``.
- ``POST /sessions/{sh}/statements`` ``{statement, executionConfig, executionTimeout}`` →
  ``{operationHandle}`` at once; the statement runs on the session's worker.
  ``executionConfig`` applies to this statement only; an operation still running after
  ``executionTimeout`` ms is cancelled with status ``TIMEOUT``. One statement per request: a script of several is a
  400 naming the second one's position.
- ``GET …/operations/{oh}/status``, ``POST …/cancel``, ``DELETE …/close`` → ``{status}``
  (Flink's ``OperationStatus`` names).
- ``GET …/operations/{oh}/result/{token}?rowFormat=JSON|PLAIN_TEXT|ARROW`` → one page
  (:mod:`.results`); ``rowFormat`` defaults to JSON (v1 has no such parameter). ``maxRows``
  (FlowSQL's extension) bounds the page (default 1000). ``ARROW`` answers an Arrow IPC stream
  with the page's metadata in ``X-FlowSQL-*`` headers.
- ``GET …/operations/{oh}/stream`` (FlowSQL's extension): NDJSON, one
  ``{"kind", "fields"}`` line per row (JSON row format) from ``token`` on, as rows arrive,
  ending at EOS; an error ends the stream with one ``{"errors": [...]}`` line.
- Unknown handles are 404; a failed operation's fetch is a 400 with the FlowSQL message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

import flowsql
from flowsql.errors import FlowSQLError, ValidationError
from flowsql.gateway.operation import DEFAULT_PAGE_ROWS, Operation, OperationStatus
from flowsql.gateway.rest import completion, results
from flowsql.gateway.rest import models as m
from flowsql.gateway.rest.errors import NotFound, for_exception
from flowsql.gateway.rest.versions import number
from flowsql.gateway.sessions import GatewaySession, SessionManager
from flowsql.sql.statements import split_script

PRODUCT = "FlowSQL"
MAX_PAGE_ROWS = 100_000
MAX_QUERY_STATEMENT = 4096  # a statement in a query string (longer ones go in a JSON body)
STREAM_IDLE_S = 0.02  # pause between fetches while a statement has no rows yet
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": m.ErrorResponse, "description": "A bad request or a failed statement"},
    404: {"model": m.ErrorResponse, "description": "Unknown session or operation"},
}
FETCH: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    200: {"model": m.FetchResultsResponse,
          "content": {results.ARROW_MEDIA_TYPE: {}},
          "description": "One page of results (JSON), or Arrow IPC with rowFormat=ARROW"},
}


class SafeRoute(APIRoute):
    """Turns what a route raises into ``{"errors": [...]}`` (see :mod:`.errors`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def safe(request: Request) -> Response:
            try:
                return await handler(request)
            except (HTTPException, RequestValidationError):
                raise
            except Exception as e:  # noqa: BLE001 - mapped to a status, never a traceback
                return for_exception(request, e)

        return safe


def build_router(manager: SessionManager, version: str, advertised: tuple[str, ...]) -> APIRouter:
    """The routes of ``version`` (``v1`` … ``v4``); see the module contract."""
    router = APIRouter(route_class=SafeRoute, responses=ERRORS)
    v2 = number(version) >= 2

    def session(sh: str) -> GatewaySession:
        try:
            return manager.get(sh)
        except ValidationError:
            raise NotFound(f"Session '{sh}' does not exist.") from None

    def operation(sh: str, oh: str) -> Operation:
        gs = session(sh)
        try:
            return gs.operation(oh)
        except ValidationError:
            raise NotFound(f"Operation '{oh}' does not exist in session '{sh}'.") from None

    @router.get("/api_versions", response_model=m.ApiVersionsResponse)
    def api_versions() -> m.ApiVersionsResponse:
        return m.ApiVersionsResponse(versions=[v.upper() for v in advertised])

    @router.get("/info", response_model=m.InfoResponse)
    def info() -> m.InfoResponse:
        return m.InfoResponse(productName=PRODUCT, version=flowsql.__version__)

    @router.post("/sessions", response_model=m.OpenSessionResponse)
    def open_session(body: m.OpenSessionRequest | None = None) -> m.OpenSessionResponse:
        body = body or m.OpenSessionRequest()
        gs = manager.open(body.properties, body.sessionName)
        return m.OpenSessionResponse(sessionHandle=gs.handle)

    @router.get("/sessions/{session_handle}", response_model=m.SessionConfigResponse)
    def get_session_config(session_handle: str) -> m.SessionConfigResponse:
        return m.SessionConfigResponse(properties=session(session_handle).session.config.items())

    @router.delete("/sessions/{session_handle}", response_model=m.StatusResponse)
    def close_session(session_handle: str) -> m.StatusResponse:
        session(session_handle)
        try:
            manager.close(session_handle)
        except ValidationError:
            raise NotFound(f"Session '{session_handle}' does not exist.") from None
        return m.StatusResponse(status="CLOSED")

    @router.post("/sessions/{session_handle}/heartbeat", response_model=m.Empty)
    def heartbeat(session_handle: str) -> m.Empty:
        session(session_handle).touch()
        return m.Empty()

    if v2:
        @router.post("/sessions/{session_handle}/configure-session", response_model=m.Empty)
        def configure_session(session_handle: str, body: m.ConfigureSessionRequest) -> m.Empty:
            gs = session(session_handle)
            text = one_statement(body.statement)
            timeout = body.executionTimeout / 1000 if body.executionTimeout else None
            op = gs.submit(text)
            try:
                if not op.wait(timeout):
                    op.cancel()
                    raise ValidationError(f"the statement did not finish within "
                                          f"{body.executionTimeout} ms and was cancelled")
                if op.status is OperationStatus.ERROR and op.error is not None:
                    raise op.error
            finally:
                gs.close_operation(op.handle)
            return m.Empty()

        @router.get("/sessions/{session_handle}/complete-statement",
                    response_model=m.CompleteStatementResponse)
        def complete_statement(
            session_handle: str,
            statement: str | None = Query(None, max_length=MAX_QUERY_STATEMENT),
            position: int | None = Query(None, ge=0),
            body: m.CompleteStatementRequest | None = Body(None),
        ) -> m.CompleteStatementResponse:
            gs = session(session_handle)
            text = statement if statement is not None else (body.statement if body else "")
            pos = position if position is not None else (body.position if body else len(text))
            return m.CompleteStatementResponse(
                candidates=completion.candidates(text, pos, table_names(gs)))

    @router.post("/sessions/{session_handle}/statements", response_model=m.ExecuteStatementResponse)
    def execute_statement(session_handle: str,
                          body: m.ExecuteStatementRequest) -> m.ExecuteStatementResponse:
        gs = session(session_handle)
        op = gs.submit(one_statement(body.statement), body.executionConfig)
        if body.executionTimeout:
            timer = threading.Timer(body.executionTimeout / 1000, _expire, args=(op,))
            timer.daemon = True
            timer.start()
        return m.ExecuteStatementResponse(operationHandle=op.handle)

    prefix = "/sessions/{session_handle}/operations/{operation_handle}"

    @router.get(prefix + "/status", response_model=m.StatusResponse)
    def get_operation_status(session_handle: str, operation_handle: str) -> m.StatusResponse:
        return m.StatusResponse(status=operation(session_handle, operation_handle).status.value)

    @router.post(prefix + "/cancel", response_model=m.StatusResponse)
    def cancel_operation(session_handle: str, operation_handle: str) -> m.StatusResponse:
        op = operation(session_handle, operation_handle)
        op.cancel()
        return m.StatusResponse(status=op.status.value)

    @router.delete(prefix + "/close", response_model=m.StatusResponse)
    def close_operation(session_handle: str, operation_handle: str) -> m.StatusResponse:
        operation(session_handle, operation_handle)
        session(session_handle).close_operation(operation_handle)
        return m.StatusResponse(status=OperationStatus.CLOSED.value)

    @router.get(prefix + "/result/{token}", responses=FETCH, response_model=None)
    def fetch_results(
        session_handle: str,
        operation_handle: str,
        token: int,
        rowFormat: str | None = Query(None),  # noqa: N803 - Flink's parameter name
        maxRows: int = Query(DEFAULT_PAGE_ROWS, ge=1, le=MAX_PAGE_ROWS),  # noqa: N803
    ) -> Response:
        fmt = row_format(rowFormat)
        op = operation(session_handle, operation_handle)
        page = op.fetch(token, maxRows)
        uri = None
        if page.next_token is not None:
            uri = f"/{version}{prefix}/result/{page.next_token}".format(
                session_handle=session_handle, operation_handle=operation_handle)
            if version != "v1":
                uri += f"?rowFormat={fmt}"
        if fmt == "ARROW":
            return arrow_response(page, uri)
        return Response(results.encode(results.fetch_body(page, fmt, uri)),
                        media_type="application/json")

    @router.get(prefix + "/stream", response_model=None,
                responses={200: {"content": {"application/x-ndjson": {}},
                                 "description": "One JSON line per row, until EOS"}})
    def stream_results(
        session_handle: str,
        operation_handle: str,
        token: int = Query(0, ge=0),
        maxRows: int = Query(DEFAULT_PAGE_ROWS, ge=1, le=MAX_PAGE_ROWS),  # noqa: N803
    ) -> Response:
        op = operation(session_handle, operation_handle)
        if op.status is OperationStatus.ERROR and op.error is not None:
            raise op.error
        return StreamingResponse(ndjson(op, token, maxRows), media_type="application/x-ndjson")

    return router


def one_statement(text: str) -> str:
    """The single statement of a request (a trailing ``;`` is fine); else a ValidationError."""
    pieces = split_script(text)
    if not pieces:
        raise ValidationError("the request holds no statement")
    if len(pieces) > 1:
        second = pieces[1]
        raise ValidationError(
            f"one statement per request: this request holds {len(pieces)} statements (the "
            f"second starts at line {second.line}, column {second.col})",
            hint="send each statement in its own request")
    return pieces[0].text


def row_format(value: str | None) -> str:
    fmt = (value or "JSON").upper()
    if fmt not in results.ROW_FORMATS:
        raise ValidationError(f"unknown rowFormat '{value}'",
                              hint="use " + ", ".join(results.ROW_FORMATS))
    return fmt


def table_names(gs: GatewaySession) -> list[str]:
    """The current database's tables and views (SHOW TABLES on the session's worker)."""
    op = gs.execute("SHOW TABLES", timeout=5)
    try:
        table = op.result.table if op.status is OperationStatus.FINISHED and op.result else None
        if table is None or not table.num_columns:
            return []
        return [str(v) for v in table.column(0).to_pylist() if v is not None]
    finally:
        gs.close_operation(op.handle)


def arrow_response(page, uri: str | None) -> Response:
    headers = {"X-FlowSQL-Result-Type": page.result_type,
               "X-FlowSQL-Result-Kind": page.kind,
               "X-FlowSQL-Is-Query-Result": str(page.is_query).lower()}
    if uri is not None:
        headers["X-FlowSQL-Next-Result-Uri"] = uri
    job = results.flink_job_id(page.job_id)
    if job:
        headers["X-FlowSQL-Job-ID"] = job
    return Response(results.arrow_ipc(page.data), media_type=results.ARROW_MEDIA_TYPE,
                    headers=headers)


def ndjson(op: Operation, token: int, max_rows: int) -> Iterator[bytes]:
    """Rows of ``op`` as NDJSON lines from ``token`` on, until EOS (see module contract)."""
    while True:
        try:
            page = op.fetch(token, max_rows)
        except FlowSQLError as e:
            yield results.encode({"errors": [e.render()]}) + b"\n"
            return
        if page.result_type == "EOS":
            return
        if page.result_type == "NOT_READY":
            time.sleep(STREAM_IDLE_S)
            continue
        token = page.next_token
        rows = results.rows(page.data)
        if rows:
            yield b"".join(results.encode(r) + b"\n" for r in rows)


def _expire(op: Operation) -> None:
    if op.status in (OperationStatus.PENDING, OperationStatus.RUNNING):
        op.cancel(OperationStatus.TIMEOUT)
