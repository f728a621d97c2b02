"""The JobManager's HTTP server: the REST API, dashboard and ``/metrics`` on uvicorn.

Contract: :class:`RestServer` serves :func:`flowsql.runtime.rest.app.create_app` over the
JobManager (it satisfies :class:`flowsql.runtime.rest.view.ClusterView`) on ``host:port``
(0 = a free port, then :attr:`port` tells which) in a daemon thread; :meth:`stop` ends it.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class RestServer:
    def __init__(self, view: Any, host: str, port: int) -> None:
        from flowsql.runtime.rest.app import create_app

        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(create_app(view), log_level="warning", access_log=False,
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="flowsql-rest", daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline and self.thread.is_alive():
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(3.0)
        self.sock.close()
