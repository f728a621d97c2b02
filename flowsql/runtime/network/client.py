"""ControlClient: control calls (Flight actions) to a JobManager or TaskManager.

Contract:
- ``call(action, payload)`` sends ``{"v": 1, ...payload}`` and returns the handler's dict.
  An error answered by the server is raised as the same FlowSQLError class (message, hint,
  operator_id kept); a server speaking another protocol version, no answer within the timeout
  or an unreachable server raise ``ExecutionError`` (the latter ``"cannot reach <location>:
  ..."``).
- One ``FlightClient`` per location is shared by all ControlClients of the process
  (thread-safe); :func:`close_all` closes them.
- ``fetch(key)`` reads a result stream (``do_get``) as record batches.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.flight as flight

from flowsql.errors import ExecutionError
from flowsql.runtime.network.codec import VERSION, error_from_dict
from flowsql.runtime.network.exchange import describe_flight_error

_clients: dict[str, flight.FlightClient] = {}
_clients_lock = threading.Lock()


def _client(location: str) -> flight.FlightClient:
    with _clients_lock:
        client = _clients.get(location)
        if client is None:
            client = _clients[location] = flight.FlightClient(location)
        return client


def close_all() -> None:
    """Close every cached FlightClient of this process."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing
            pass


class ControlClient:
    def __init__(self, location: str, timeout: float = 10.0) -> None:
        self.location = location
        self.timeout = timeout

    def call(self, action: str, payload: dict, timeout: float | None = None) -> dict:
        body = orjson.dumps({**payload, "v": VERSION})
        options = flight.FlightCallOptions(timeout=timeout if timeout is not None else self.timeout)
        try:
            results = list(_client(self.location).do_action(flight.Action(action, body), options))
        except (flight.FlightError, pa.ArrowException) as exc:
            raise self._error(exc, f"action {action!r} at {self.location}") from None
        if len(results) != 1:
            raise ExecutionError(f"action {action!r} at {self.location}: no single answer")
        try:
            reply: Any = orjson.loads(results[0].body.to_pybytes())
        except orjson.JSONDecodeError:
            reply = None
        if not isinstance(reply, dict) or reply.get("v") != VERSION:
            version = reply.get("v") if isinstance(reply, dict) else None
            raise ExecutionError(
                f"{self.location} answered action {action!r} with protocol version {version!r}; "
                f"this process speaks version {VERSION}",
                hint="run the same FlowSQL version on every JobManager and TaskManager",
            )
        if "error" in reply:
            raise error_from_dict(reply["error"])
        return reply.get("ok", {})

    def fetch(self, key: str, timeout: float | None = None) -> Iterator[pa.RecordBatch]:
        """The batches of result stream ``key`` served by the server's ``do_get``."""
        options = flight.FlightCallOptions(timeout=timeout)
        try:
            reader = _client(self.location).do_get(flight.Ticket(key.encode()), options)
            for chunk in reader:
                if chunk.data is not None:
                    yield chunk.data
        except (flight.FlightError, pa.ArrowException) as exc:
            raise self._error(exc, f"result stream {key!r} from {self.location}") from None

    def _error(self, exc: Exception, what: str) -> ExecutionError:
        """An unreachable peer or a timeout says so; any other failure names ``what``."""
        if isinstance(exc, (flight.FlightUnavailableError, flight.FlightTimedOutError)):
            return ExecutionError(f"cannot reach {self.location}: {describe_flight_error(exc)}")
        return ExecutionError(f"{what} failed: {describe_flight_error(exc)}")


