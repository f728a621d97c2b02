"""``python -m flowsql.gateway.pgwire``: a Postgres wire server alone (for tests and trying).

Prints the bound port on its first stdout line, then serves until SIGTERM/SIGINT.
``flowsql gateway --pg-port`` is the production entry (the REST and Postgres faces together).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import ssl
import sys
from pathlib import Path

from flowsql.gateway.auth import GatewayAuth, check_bind
from flowsql.gateway.pgwire.authn import METHODS
from flowsql.gateway.pgwire.server import PgServer
from flowsql.gateway.sessions import SessionManager


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m flowsql.gateway.pgwire")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5432)
    p.add_argument("--home", type=Path, default=None)
    p.add_argument("--users-file")
    p.add_argument("--tokens-file")
    p.add_argument("--ssl-certfile")
    p.add_argument("--ssl-keyfile")
    p.add_argument("--auth-method", choices=METHODS, default="scram-sha-256")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a session default, e.g. execution.runtime-mode=batch")
    p.add_argument("--insecure", action="store_true")
    args = p.parse_args(argv)
    auth = GatewayAuth.load(args.tokens_file, args.users_file)
    check_bind(args.host, auth, args.insecure)
    ctx = None
    if args.ssl_certfile:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.ssl_certfile, args.ssl_keyfile)
    defaults = dict(item.split("=", 1) for item in args.set)
    asyncio.run(_serve(args, auth, ctx, defaults))


async def _serve(args, auth: GatewayAuth, ctx, defaults: dict[str, str]) -> None:
    manager = SessionManager(args.home, defaults)
    server = PgServer(manager, args.host, args.port, auth, ctx, auth_method=args.auth_method)
    await server.start()
    print(server.port, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
    await asyncio.to_thread(manager.shutdown)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
