"""The gateway's REST app: Flink's SQL Gateway API under ``/v1`` … ``/v4`` and unprefixed.

Contract:
- :func:`create_app(manager, ...) <create_app>` serves one :class:`SessionManager`; the app
  keeps no state of its own. Every known version is served under its prefix; unprefixed
  paths are the default version (the latest of ``versions``, the advertised ones).
- ``GET /health`` → ``{"status": "ok", "sessions": n}``, open without a token.
- ``GET /metrics``: Prometheus text (:mod:`.metrics`: sessions, operations by status, the
  process's RSS and CPU); behind the token like every route but ``/health``.
- FastAPI's OpenAPI document is at ``/openapi.json``; no docs UI is served.
- Middleware, outermost first: bearer-token auth (:mod:`.bearer`, when ``auth`` has tokens
  or users), then the body limit (:mod:`.body_limit`, 413).
- Every error is ``{"errors": [...]}`` (:mod:`.errors`).
"""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import flowsql
from flowsql.gateway.auth import GatewayAuth
from flowsql.gateway.rest import errors, metrics
from flowsql.gateway.rest.bearer import BearerAuth
from flowsql.gateway.rest.body_limit import DEFAULT_LIMIT, BodyLimit
from flowsql.gateway.rest.routes import build_router
from flowsql.gateway.rest.versions import KNOWN, default_version
from flowsql.gateway.sessions import SessionManager


def create_app(
    manager: SessionManager,
    *,
    auth: GatewayAuth | None = None,
    versions: tuple[str, ...] = KNOWN,
    body_limit: int = DEFAULT_LIMIT,
) -> FastAPI:
    app = FastAPI(
        title="FlowSQL SQL Gateway REST API",
        version=flowsql.__version__,
        description="Flink's SQL Gateway REST API (v1 to v4) in front of FlowSQL sessions, "
                    "with bearer tokens, NDJSON changelog streams and Arrow results.",
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "sessions": len(manager)}

    registry = metrics.registry(manager)

    @app.get("/metrics", response_class=Response)
    def prometheus() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(build_router(manager, default_version(versions), versions))
    for version in KNOWN:
        app.include_router(build_router(manager, version, versions), prefix=f"/{version}")
    app.add_middleware(BodyLimit, limit=body_limit)
    if auth is not None and auth.enabled:
        app.add_middleware(BearerAuth, auth=auth)
    return app
