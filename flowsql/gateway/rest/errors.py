"""Errors as Flink's REST client expects them: ``{"errors": ["..."]}``, never a traceback.

Contract:
- A :class:`~flowsql.errors.FlowSQLError` (the user's statement or request is wrong) is a
  ``400`` whose message is :meth:`FlowSQLError.render` (title, line/column and caret, hint).
- :class:`NotFound` (an unknown session or operation handle, an unknown route) is a ``404``.
- Malformed requests (bad JSON, a missing field, a token that is not a number) are ``400``.
- Anything else is a bug: a ``500`` with a one-line message; the traceback goes to the
  ``flowsql.gateway`` logger only.
"""

from __future__ import annotations

import logging

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from flowsql.errors import FlowSQLError

log = logging.getLogger("flowsql.gateway")


class NotFound(Exception):
    """An unknown session or operation handle."""


def error_response(status: int, *messages: str, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps({"errors": list(messages)}), status_code=status,
                    media_type="application/json", headers=headers)


async def send_errors(send, status: int, message: str,
                      headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer from ASGI middleware (before the app runs)."""
    body = orjson.dumps({"errors": [message]})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def for_exception(request: Request, e: BaseException) -> Response:
    if isinstance(e, FlowSQLError):
        return error_response(400, e.render())
    if isinstance(e, NotFound):
        return error_response(404, str(e))
    log.error("REST %s %s failed", request.method, request.url.path, exc_info=e)
    first = (str(e).strip().splitlines() or [""])[0][:200]
    return error_response(500, f"internal error: {type(e).__name__}" + (f": {first}" if first else ""))


def install(app) -> None:
    """Register the handlers that turn framework errors into the ``errors`` shape."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        messages = [f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', 'invalid')}"
                    for err in exc.errors()]
        return error_response(400, *(messages or ["bad request"]))
