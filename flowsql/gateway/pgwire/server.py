"""The Postgres wire server: an asyncio listener handing each client to a PgConnection.

Contract: ``PgServer(manager, host, port, auth, ssl_context, *, auth_method)`` —
:meth:`start` listens (``port=0`` picks a free port; :attr:`port` tells which),
:meth:`stop` stops listening, ends every connection and closes their gateway sessions.
``flowsql gateway --pg-port`` builds one over the gateway's SessionManager and GatewayAuth.
Each connection gets a process id and a secret key (BackendKeyData); a CancelRequest naming
both cancels that connection's running statement (a wrong key is ignored, as in Postgres).
``auth_method`` is how users from the users file log in: ``scram-sha-256`` (default),
``md5`` or ``password`` (token logins are always cleartext; see ``authn``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import ssl

from flowsql.gateway.auth import GatewayAuth
from flowsql.gateway.pgwire.authn import METHODS
from flowsql.gateway.pgwire.connection import PgConnection
from flowsql.gateway.sessions import SessionManager


class PgServer:
    def __init__(self, manager: SessionManager, host: str, port: int, auth: GatewayAuth,
                 ssl_context: ssl.SSLContext | None = None, *,
                 auth_method: str = "scram-sha-256") -> None:
        if auth_method not in METHODS:
            raise ValueError(f"auth_method must be one of {', '.join(METHODS)}")
        self.manager, self.host, self.port = manager, host, port
        self.auth, self.ssl_context, self.auth_method = auth, ssl_context, auth_method
        self._server: asyncio.base_events.Server | None = None
        self._pids = itertools.count(1000)
        self._connections: dict[int, PgConnection] = {}
        self._tasks: set[asyncio.Task] = set()

    def next_pid(self) -> int:
        return next(self._pids)

    def register(self, conn: PgConnection) -> None:
        self._connections[conn.pid] = conn

    def unregister(self, conn: PgConnection) -> None:
        self._connections.pop(conn.pid, None)

    def cancel(self, pid: int, secret: int) -> None:
        conn = self._connections.get(pid)
        if conn is not None and hmac.compare_digest(str(conn.secret), str(secret)):
            conn.cancel()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await PgConnection(self, reader, writer).run()
        except asyncio.CancelledError:
            pass  # stop(): the connection cleaned up in its finally block
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
