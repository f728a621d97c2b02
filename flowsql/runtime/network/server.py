"""FlowFlightServer: the one Arrow Flight server of a JobManager or TaskManager process.

Contract:
- ``do_put``: data channels into the process's input gates (:class:`.exchange.ExchangeReceiver`).
- ``do_get(ticket)``: ``streams(ticket.decode())``, e.g. :meth:`.exchange.ResultStreams.serve`.
- ``do_action``: control calls. The body is JSON ``{"v": 1, ...payload}``; ``actions[type]``
  gets the payload (without ``"v"``) and returns a dict. The reply is one result,
  ``{"v": 1, "ok": {...}}`` or ``{"v": 1, "error": {...}}`` (:func:`.codec.error_to_dict`): a
  FlowSQLError keeps its class, any other exception becomes ExecutionError, an unknown action
  or another protocol version is an ExecutionError naming what this server knows.
- The server accepts calls from construction on, bound to ``host`` only; ``port=0`` picks a
  free port (``.port``). :meth:`shutdown` tells connected senders and result streams to stop,
  then waits (bounded) for running calls.
- pyarrow.flight must never be used across ``fork``: start other processes with subprocess.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.flight as flight

from flowsql.errors import ExecutionError
from flowsql.runtime.network.codec import VERSION, error_to_dict
from flowsql.runtime.network.exchange import ExchangeReceiver
from flowsql.runtime.network.gates import GateRegistry

log = logging.getLogger(__name__)

Action = Callable[[dict], dict]


class FlowFlightServer(flight.FlightServerBase):
    def __init__(
        self,
        host: str,
        port: int,
        *,
        gates: GateRegistry,
        actions: Mapping[str, Action] | None = None,
        streams: Callable[[str], Any] | None = None,
        gate_timeout: float = 30.0,
    ) -> None:
        try:
            super().__init__(location=f"grpc+tcp://{host}:{port}")
        except (pa.ArrowException, OSError) as e:
            raise ExecutionError(
                f"cannot listen on {host}:{port}: {e}",
                hint="the port may be in use (choose another, or 0 for any free port), or the "
                "address is not one of this host's",
            ) from None
        self.host = host
        self.gates = gates
        self.actions: dict[str, Action] = dict(actions or {})
        self.streams = streams
        self.receiver = ExchangeReceiver(gates, gate_timeout=gate_timeout)
        self._thread: threading.Thread | None = None
        self._shut = False

    @property
    def location(self) -> str:
        return f"grpc+tcp://{self.host}:{self.port}"

    # -- Flight methods ------------------------------------------------------------------------

    def do_put(self, context, descriptor, reader, writer):
        self.receiver.handle_put(context, descriptor, reader, writer)

    def do_get(self, context, ticket):
        if self.streams is None:
            raise flight.FlightServerError("this server serves no result streams")
        key = ticket.ticket.decode()
        try:
            return self.streams(key)
        except flight.FlightError:
            raise
        except Exception as exc:  # noqa: BLE001 - answered, never a traceback
            raise flight.FlightServerError(f"result stream {key!r}: {exc}") from None

    def do_action(self, context, action):
        reply = self._dispatch(action.type, action.body.to_pybytes())
        return [orjson.dumps(reply)]

    def list_actions(self, context):
        return [(name, "") for name in sorted(self.actions)]

    def _dispatch(self, kind: str, body: bytes) -> dict[str, Any]:
        try:
            try:
                request = orjson.loads(body) if body else {}
            except orjson.JSONDecodeError as exc:
                raise ExecutionError(f"action {kind!r}: malformed JSON body: {exc}") from None
            if not isinstance(request, dict):
                raise ExecutionError(f"action {kind!r}: the body is not a JSON object")
            version = request.pop("v", None)
            if version != VERSION:
                raise ExecutionError(
                    f"action {kind!r} uses protocol version {version!r}; "
                    f"this server speaks version {VERSION}",
                    hint="run the same FlowSQL version on every JobManager and TaskManager",
                )
            handler = self.actions.get(kind)
            if handler is None:
                known = ", ".join(sorted(self.actions)) or "none"
                raise ExecutionError(f"unknown action {kind!r}; known actions: {known}")
            result = handler(request)
            return {"v": VERSION, "ok": result if result is not None else {}}
        except Exception as exc:  # noqa: BLE001 - every failure is answered as an error
            if not isinstance(exc, ExecutionError | flight.FlightError):
                log.debug("action %s failed", kind, exc_info=True)
            return {"v": VERSION, "error": error_to_dict(exc)}

    # -- lifecycle -----------------------------------------------------------------------------

    def serve_in_thread(self) -> FlowFlightServer:
        """Start a daemon thread that waits for the server to end (the server already accepts
        calls); returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.wait, name="flowsql-flight", daemon=True)
            self._thread.start()
        return self

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop: senders and result streams are told to stop, then running calls get up to
        ``timeout`` seconds to end. Idempotent; never call it from inside a Flight method."""
        if self._shut:
            return
        self._shut = True
        self.receiver.close()
        close_streams = getattr(self.streams, "__self__", None)
        if close_streams is not None and hasattr(close_streams, "close"):
            close_streams.close()
        done = threading.Thread(target=super().shutdown, name="flowsql-flight-stop", daemon=True)
        done.start()
        done.join(timeout)
        if done.is_alive():
            log.warning("Flight server %s: calls still running after %.0f s", self.location, timeout)
        if self._thread is not None:
            self._thread.join(1.0)
