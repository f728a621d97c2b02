"""The FastAPI app factory: Flink's REST routes, the dashboard, Prometheus ``/metrics``.

Contract:
- :func:`create_app(view) <create_app>` builds an app reading only the given
  :class:`~flowsql.runtime.rest.view.ClusterView`; it keeps no state besides a rate sampler
  (records per second need two samples) and its private Prometheus registry.
- Routes (also under ``/v1``, like Flink): ``GET /overview``, ``/jobs``, ``/jobs/overview``,
  ``/jobs/{jobid}``, ``/jobs/{jobid}/exceptions``, ``/jobs/{jobid}/checkpoints``,
  ``POST /jobs/{jobid}/stop`` (stop with a savepoint; ``{"drain": true}`` fires every
  event-time window first) and ``POST /jobs/{jobid}/savepoints``
  (a savepoint while it runs on), both 202 ``{"request-id"}``, then
  ``GET /jobs/{jobid}/savepoints/{request-id}``, ``PATCH /jobs/{jobid}?mode=cancel``
  (202 ``{}``; 409 when the job already ended), ``GET /taskmanagers``, ``/config``,
  ``/metrics`` (Prometheus text), ``/`` (the dashboard; assets under ``/static``) and
  FastAPI's ``/openapi.json``. Shapes: :mod:`.flink` / :mod:`.models`.
- Errors are always ``{"errors": ["..."]}``: 404 for an unknown job or route, 400 for bad
  parameters, 405 for a wrong method. Anything unexpected is a 500 with a one-line message
  (never a traceback); the traceback goes to the ``flowsql.runtime`` logger.
- ``flink-version`` in ``/overview`` and ``/config`` is FlowSQL's own version string.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from flowsql.errors import ExecutionError, UnknownJobError
from flowsql.runtime.jobmanager.jobmanager import JobInfo
from flowsql.runtime.rest import flink
from flowsql.runtime.rest import models as m
from flowsql.runtime.rest.prometheus import make_registry
from flowsql.runtime.rest.sampler import RateSampler
from flowsql.runtime.rest.view import ClusterView

log = logging.getLogger("flowsql.runtime")
STATIC_DIR = Path(__file__).with_name("static")
FINAL_STATES = frozenset({"FINISHED", "FAILED", "CANCELED"})
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": m.ErrorResponse, "description": "Bad parameters"},
    404: {"model": m.ErrorResponse, "description": "Unknown job"},
}


class Accepted(m.FlinkModel):
    """An empty body (Flink answers a cancel with ``{}``)."""


def _errors(status: int, *messages: str) -> JSONResponse:
    return JSONResponse({"errors": list(messages)}, status_code=status)


def _unknown_job(e: Exception) -> bool:
    return isinstance(e, UnknownJobError)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    first = text[0][:200] if text else ""
    return f"internal error: {type(e).__name__}" + (f": {first}" if first else "")


class _SafeRoute(APIRoute):
    """Turns what a route raises into ``{"errors": [...]}`` (see the module contract)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def safe(request: Request) -> Response:
            try:
                return await handler(request)
            except (StarletteHTTPException, RequestValidationError):
                raise
            except Exception as e:
                if _unknown_job(e):
                    return _errors(404, f"Job {request.path_params.get('jobid', '')} not found.")
                log.exception("REST %s %s failed", request.method, request.url.path)
                return _errors(500, _one_line(e))

        return safe


def create_app(
    view: ClusterView,
    *,
    refresh_interval_ms: int = 1000,
    clock: Callable[[], float] = time.time,
    sampler: RateSampler | None = None,
) -> FastAPI:
    """The JobManager's HTTP app over ``view``. ``clock`` is wall-clock epoch seconds."""
    sampler = sampler or RateSampler()
    registry = make_registry(view, clock)
    app = FastAPI(
        title="FlowSQL JobManager REST API",
        version=flink.VERSION,
        description="Flink-compatible monitoring REST API of the FlowSQL JobManager.",
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _errors(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        messages = [
            f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', 'invalid')}"
            for err in exc.errors()
        ]
        return _errors(400, *(messages or ["bad request"]))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("REST %s %s failed", request.method, request.url.path, exc_info=exc)
        return _errors(500, _one_line(exc))

    def job_info(jobid: str) -> JobInfo:
        try:
            return view.job(jobid)
        except ExecutionError as e:
            raise HTTPException(404, f"Job {jobid} not found.") from e

    router = APIRouter(route_class=_SafeRoute)

    @router.get("/overview", response_model=m.Overview)
    def overview() -> m.Overview:
        """Cluster overview. ``flink-version`` is FlowSQL's version; ``taskmanagers`` and
        the slot counts cover TaskManagers that are not LOST."""
        return flink.overview(view)

    @router.get("/config", response_model=m.Config)
    def config() -> m.Config:
        """Dashboard configuration (``flink-version`` is FlowSQL's version)."""
        return flink.config(refresh_interval_ms)

    @router.get("/jobs", response_model=m.JobList)
    def jobs() -> m.JobList:
        """Every job's id and state."""
        return flink.job_list(view)

    @router.get("/jobs/overview", response_model=m.JobsOverview)
    def jobs_overview() -> m.JobsOverview:
        """Every job with times (epoch ms; -1 = not yet) and subtask counts per state."""
        result = flink.jobs_overview(view, clock())
        sampler.forget(j.jid for j in result.jobs)
        return result

    @router.get("/jobs/{jobid}", response_model=m.JobDetails, responses=ERRORS)
    def job_details(jobid: str) -> m.JobDetails:
        """One job: vertices (= operator chains), plan, and per-operator detail under
        ``flowsql`` (records, rates, watermark and lag, late records, backpressure)."""
        return flink.job_details(view, job_info(jobid), sampler, clock())

    @router.get("/jobs/{jobid}/exceptions", response_model=m.JobExceptions, responses=ERRORS)
    def job_exceptions(jobid: str) -> m.JobExceptions:
        """The job's failure (root exception and history; empty while it has none)."""
        return flink.job_exceptions(view, job_info(jobid), clock())

    @router.get("/jobs/{jobid}/checkpoints", response_model=m.Checkpoints, responses=ERRORS)
    def job_checkpoints(jobid: str) -> m.Checkpoints:
        """Checkpoint statistics with Flink's field names: counts, summary, latest, history
        (newest first; the last 20)."""
        return flink.checkpoints(view, job_info(jobid))

    triggers: dict[str, dict[str, Any]] = {}  # stop-with-savepoint requests by request id

    def start_savepoint(jobid: str, directory: str | None, stop: bool,
                        drain: bool = False) -> m.TriggerResponse:
        info = job_info(jobid)
        if info.state != "RUNNING":
            raise HTTPException(409, f"Job {jobid} is {info.state}, not RUNNING.")
        config = getattr(view, "job_config", lambda j: {})(jobid)
        directory = directory or config.get(
            "execution.checkpointing.savepoint-dir") or config.get("state.savepoints.dir")
        if not directory:
            raise HTTPException(400, "no targetDirectory given and the job has no "
                                     "execution.checkpointing.savepoint-dir")
        request_id = uuid.uuid4().hex
        entry: dict[str, Any] = {"job": jobid, "done": False}
        triggers[request_id] = entry

        def run() -> None:
            try:
                if drain:
                    entry["location"] = view.stop_with_savepoint(jobid, directory, drain=True)
                elif stop:
                    entry["location"] = view.stop_with_savepoint(jobid, directory)
                else:
                    entry["location"] = view.trigger_savepoint(jobid, directory)
            except Exception as e:  # noqa: BLE001 - reported through the status route
                entry["error"] = e
            entry["done"] = True

        threading.Thread(target=run, name=f"flowsql-savepoint {jobid}", daemon=True).start()
        return m.TriggerResponse(request_id=request_id)

    @router.post("/jobs/{jobid}/stop", status_code=202, response_model=m.TriggerResponse,
                 responses=ERRORS)
    def stop_job(jobid: str, body: m.StopRequest) -> m.TriggerResponse:
        """Stop the job with a savepoint (asynchronous: poll
        ``/jobs/{jobid}/savepoints/{request-id}``). ``targetDirectory`` defaults to the job's
        ``execution.checkpointing.savepoint-dir``. With ``"drain": true`` the sources emit
        the final watermark before the savepoint, so every event-time window fires and its
        results reach the sinks before the job ends FINISHED (Flink's ``--drain``)."""
        return start_savepoint(jobid, body.target_directory, stop=True, drain=body.drain)

    @router.post("/jobs/{jobid}/savepoints", status_code=202, response_model=m.TriggerResponse,
                 responses=ERRORS)
    def savepoint(jobid: str, body: m.SavepointRequest) -> m.TriggerResponse:
        """Take a savepoint while the job runs on (``cancel-job``: stop it with the savepoint);
        asynchronous like ``/stop``."""
        return start_savepoint(jobid, body.target_directory, stop=body.cancel_job)

    @router.get("/jobs/{jobid}/savepoints/{requestid}", response_model=m.SavepointStatus,
                responses=ERRORS)
    def savepoint_status(jobid: str, requestid: str) -> m.SavepointStatus:
        """The state of a stop-with-savepoint request (Flink's asynchronous operation)."""
        entry = triggers.get(requestid)
        if entry is None or entry["job"] != jobid:
            raise HTTPException(404, f"No savepoint request {requestid} for job {jobid}.")
        if not entry["done"]:
            return m.SavepointStatus(status=m.QueueStatus(id="IN_PROGRESS"))
        error = entry.get("error")
        if error is not None:
            cause = m.FailureCause(class_=type(error).__name__, stack_trace=_one_line(error))
            return m.SavepointStatus(status=m.QueueStatus(id="COMPLETED"),
                                     operation=m.SavepointOperation(failure_cause=cause))
        return m.SavepointStatus(status=m.QueueStatus(id="COMPLETED"),
                                 operation=m.SavepointOperation(location=entry["location"]))

    @router.patch(
        "/jobs/{jobid}",
        status_code=202,
        response_model=Accepted,
        responses={**ERRORS, 409: {"model": m.ErrorResponse, "description": "Job already ended"}},
    )
    def cancel_job(jobid: str, mode: Literal["cancel"] = Query("cancel")) -> Accepted:
        """Cancel a job (asynchronously: poll ``/jobs/{jobid}`` for CANCELED)."""
        info = job_info(jobid)
        if info.state in FINAL_STATES:
            raise HTTPException(409, f"Job {jobid} already reached the final state {info.state}.")
        view.cancel(jobid, wait=False)
        return Accepted()

    @router.get("/taskmanagers", response_model=m.TaskManagers)
    def taskmanagers() -> m.TaskManagers:
        """Registered TaskManagers (LOST ones included; see ``flowsql.state``)."""
        return flink.task_managers(view, clock())

    app.include_router(router)
    app.include_router(router, prefix="/v1", include_in_schema=False)

    @app.get("/metrics", include_in_schema=True, response_class=Response)
    def metrics() -> Response:
        """Prometheus text exposition (see :mod:`flowsql.runtime.rest.prometheus`)."""
        try:
            body = generate_latest(registry)
        except Exception as e:
            log.exception("REST /metrics failed")
            return _errors(500, _one_line(e))
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
