"""Bearer-token authentication for every REST route but ``GET /health`` (pure ASGI).

Contract: when the gateway has tokens or users configured (:attr:`GatewayAuth.enabled`), a
request needs ``Authorization: Bearer <token>`` with a configured token; otherwise it is
answered ``401 {"errors": [...]}`` with ``WWW-Authenticate: Bearer`` before any route runs,
so a refused request changes nothing. ``GET /health`` is always open (liveness probes).
The token is compared in constant time (:meth:`GatewayAuth.check_token`) and never logged
nor echoed.
"""

from __future__ import annotations

from flowsql.gateway.auth import GatewayAuth
from flowsql.gateway.rest.errors import send_errors

OPEN_PATHS = frozenset({"/health"})


class BearerAuth:
    def __init__(self, app, auth: GatewayAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.auth.enabled or (
                scope.get("method") == "GET" and scope.get("path") in OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        if self.auth.check_token(_bearer(scope)):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":  # none is served; refuse before the router sees it
            await send({"type": "websocket.close", "code": 1008})
            return
        await send_errors(send, 401, "authentication required: send 'Authorization: Bearer "
                          "<token>' with a configured token",
                          headers=[(b"www-authenticate", b'Bearer realm="flowsql"')])


def _bearer(scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None
