"""The ``flowsql gateway`` process: one SessionManager behind the REST API (uvicorn) and the
Postgres wire protocol, on one asyncio loop.

Contract:
- :func:`run_gateway` ``(GatewayOptions)``:
  1. loads the tokens and users (:meth:`GatewayAuth.load`) and refuses a non-loopback
     ``bind`` without them unless ``insecure`` (:func:`check_bind`: a ValidationError, which
     the CLI prints and exits 2 on);
  2. builds one :class:`SessionManager` under ``home``: sessions start with
     ``execution.target = remote`` and ``jobmanager.address`` when ``jobmanager`` is given,
     else their jobs run on the embedded MiniCluster;
  3. binds the REST socket itself (port 0 = a free port), serves the app of
     :func:`flowsql.gateway.rest.app.create_app` with uvicorn — TLS when ``ssl_certfile``
     and ``ssl_keyfile`` are given — and, when ``pg_port`` is not 0,
     :class:`flowsql.gateway.pgwire.server.PgServer` on the same loop and the same sessions'
     manager, with ``pg_auth_method`` (scram-sha-256, md5 or password) for users of the
     users file and the same TLS certificate;
  4. prints one line per listener to stdout (``REST API on http://127.0.0.1:8083``,
     ``Postgres wire on 127.0.0.1:5432``) once it accepts connections;
  5. on SIGTERM or SIGINT stops accepting, lets in-flight requests finish (a few seconds at
     most), stops the Postgres server and closes every session (their live queries are
     cancelled), then returns 0.
- Nothing listens on an address other than ``bind``. Tokens are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import socket
import ssl
import sys
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from flowsql.errors import ValidationError
from flowsql.gateway.auth import GatewayAuth, check_bind
from flowsql.gateway.pgwire.authn import METHODS as PG_AUTH_METHODS
from flowsql.gateway.pgwire.server import PgServer
from flowsql.gateway.rest.app import create_app
from flowsql.gateway.rest.body_limit import DEFAULT_LIMIT
from flowsql.gateway.rest.versions import parse_versions
from flowsql.gateway.sessions import DEFAULT_IDLE_TIMEOUT_S, SessionManager

log = logging.getLogger("flowsql.gateway")
GRACEFUL_S = 3
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m|h)?\s*$", re.IGNORECASE)
_UNIT_S = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


@dataclass
class GatewayOptions:
    home: Path | None = None
    bind: str = "127.0.0.1"
    port: int = 8083
    pg_port: int = 5432
    jobmanager: str | None = None
    tokens_file: str | None = None
    users_file: str | None = None
    insecure: bool = False
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    rest_versions: str | None = None
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S
    body_limit: int = DEFAULT_LIMIT
    pg_auth_method: str = "scram-sha-256"


def parse_duration(text: str) -> float:
    """``10min``, ``30s``, ``500ms``, ``1h`` or plain seconds → seconds (0 = never)."""
    m = _DURATION.match(text)
    if not m:
        raise ValidationError(f"cannot read the duration '{text}'",
                              hint="write e.g. 10min, 30s, 500ms or 1h")
    return float(m.group(1)) * _UNIT_S[(m.group(2) or "s").lower()]


def session_defaults(jobmanager: str | None) -> dict[str, str]:
    if not jobmanager:
        return {}
    return {"execution.target": "remote", "jobmanager.address": jobmanager}


def check_options(opts: GatewayOptions) -> tuple[GatewayAuth, tuple[str, ...]]:
    """Step 1: the auth and the advertised versions, or a ValidationError (a usage error)."""
    auth = GatewayAuth.load(opts.tokens_file, opts.users_file)
    check_bind(opts.bind, auth, opts.insecure)
    if bool(opts.ssl_certfile) != bool(opts.ssl_keyfile):
        raise ValidationError("TLS needs both --ssl-certfile and --ssl-keyfile")
    if opts.pg_auth_method not in PG_AUTH_METHODS:
        raise ValidationError(f"unknown --pg-auth-method '{opts.pg_auth_method}'",
                              hint=f"one of: {', '.join(PG_AUTH_METHODS)}")
    return auth, parse_versions(opts.rest_versions)


def run_gateway(opts: GatewayOptions) -> int:
    auth, versions = check_options(opts)
    manager = SessionManager(opts.home, session_defaults(opts.jobmanager),
                             idle_timeout_s=opts.idle_timeout_s,
                             check_interval_s=min(60.0, max(opts.idle_timeout_s / 4, 0.5)))
    try:
        asyncio.run(_serve(opts, manager, auth, versions))
    finally:
        manager.shutdown()
    return 0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling (it re-raises the signal after shutdown,
    which would kill the process before the sessions are closed)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def _serve(opts: GatewayOptions, manager: SessionManager, auth: GatewayAuth,
                 versions: tuple[str, ...]) -> None:
    sock = socket.socket(socket.AF_INET6 if ":" in opts.bind else socket.AF_INET,
                         socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((opts.bind, opts.port))
    except OSError as e:
        sock.close()
        raise ValidationError(f"cannot listen on {_host(opts.bind)}:{opts.port}: {e.strerror}",
                              hint="choose another --port (0 = any free port)") from None
    app = create_app(manager, auth=auth, versions=versions, body_limit=opts.body_limit)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            ssl_certfile=opts.ssl_certfile, ssl_keyfile=opts.ssl_keyfile,
                            timeout_graceful_shutdown=GRACEFUL_S)
    server = _Server(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    rest = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not rest.done():
        await asyncio.sleep(0.02)
    if rest.done():  # failed to start: raise its error
        await rest
        return
    scheme = "https" if opts.ssl_certfile else "http"
    host, port = sock.getsockname()[:2]
    _say(f"REST API on {scheme}://{_host(host)}:{port}")
    pg = await _start_pg(opts, manager, auth)
    try:
        await rest
    finally:
        if pg is not None:
            await pg.stop()
        sock.close()


async def _start_pg(opts: GatewayOptions, manager: SessionManager, auth: GatewayAuth):
    if not opts.pg_port:
        return None
    context = None
    if opts.ssl_certfile:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(opts.ssl_certfile, opts.ssl_keyfile)
    pg = PgServer(manager, opts.bind, opts.pg_port, auth, context,
                  auth_method=opts.pg_auth_method)
    await pg.start()
    _say(f"Postgres wire on {_host(opts.bind)}:{pg.port}")
    return pg


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _say(line: str) -> None:
    print(line, flush=True)
    sys.stdout.flush()
