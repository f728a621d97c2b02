"""A client of Flink's SQL Gateway REST API (FlowSQL's gateway, or Flink's own).

Contract:
- :class:`GatewayClient` ``(url, token=None)`` opens a session (``POST /v2/sessions``) and
  keeps it alive with a heartbeat every ``heartbeat_s`` (a daemon thread) until
  :meth:`close` (``DELETE`` of the session). ``token`` is sent as ``Authorization: Bearer``.
- :meth:`submit` sends one statement and returns its operation handle; :meth:`status` reads
  its state; :meth:`wait` polls until it is no longer ``PENDING``/``RUNNING`` (returns the
  state); :meth:`fetch` reads one result page (``rowFormat=JSON``) as a :class:`Page`: its
  rows as an Arrow table typed from the columns' ``logicalType`` (plus ``$row_kind`` int8 =
  :class:`flowsql.messages.RowKind` for every row, from its ``kind``), the result type
  (``NOT_READY``/``PAYLOAD``/``EOS``), the next token, ``isQueryResult``, ``jobID`` and
  ``resultKind``; :meth:`cancel` and :meth:`close_operation` end an operation.
- Every failure is a :class:`~flowsql.errors.FlowSQLError`: an answer ``{"errors": [...]}``
  becomes :class:`GatewayError` whose message is the gateway's first error text (FlowSQL's
  gateway puts the rendered FlowSQL error there: line, column, caret, hint); a connection
  failure names the URL. Nothing here prints.
- Values: JSON numbers, strings and booleans map to the column's Arrow type; date, time and
  timestamp strings are parsed by Arrow (a value it cannot parse leaves the column a string);
  nested types (ARRAY, MAP, ROW) and anything unknown stay strings.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pyarrow as pa

from flowsql.errors import FlowSQLError
from flowsql.messages import ROW_KIND, RowKind

API = "/v2"
_KINDS = {"INSERT": RowKind.INSERT, "UPDATE_BEFORE": RowKind.UPDATE_BEFORE,
          "UPDATE_AFTER": RowKind.UPDATE_AFTER, "DELETE": RowKind.DELETE}
_SIMPLE: dict[str, pa.DataType] = {
    "BOOLEAN": pa.bool_(), "TINYINT": pa.int8(), "SMALLINT": pa.int16(),
    "INTEGER": pa.int32(), "BIGINT": pa.int64(), "FLOAT": pa.float32(),
    "DOUBLE": pa.float64(), "CHAR": pa.string(), "VARCHAR": pa.string(),
    "DATE": pa.date32(), "BINARY": pa.binary(), "VARBINARY": pa.binary(),
}
_TIMES = ("TIMESTAMP_WITHOUT_TIME_ZONE", "TIMESTAMP_WITH_LOCAL_TIME_ZONE",
          "TIMESTAMP_WITH_TIME_ZONE", "TIME_WITHOUT_TIME_ZONE")


class GatewayError(FlowSQLError):
    """An error the gateway answered (its text is already the user-facing message)."""

    title = "Error"

    def render(self) -> str:
        return self.message


@dataclass
class Page:
    result_type: str
    table: pa.Table
    next_token: int | None
    is_query: bool
    job_id: str | None
    result_kind: str | None


class GatewayClient:
    def __init__(self, url: str, token: str | None = None, *, properties: dict[str, str] | None = None,
                 heartbeat_s: float = 30.0, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_s)
        body = {"properties": properties or {}, "sessionName": "flowsql-shell"}
        self.session = self._call("POST", f"{API}/sessions", json=body)["sessionHandle"]
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, args=(heartbeat_s,),
                                      name="gateway-heartbeat", daemon=True)
        self._beat.start()

    # -- http ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as e:
            raise FlowSQLError(f"cannot reach the gateway at {self.url}: {e}") from None
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = {}
        if response.status_code >= 400:
            errors = body.get("errors") if isinstance(body, dict) else None
            text = errors[0] if errors else f"HTTP {response.status_code} from {path}"
            raise GatewayError(str(text))
        return body

    def _heartbeat(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self._call("POST", f"{self._session_path}/heartbeat")
            except FlowSQLError:
                pass  # the next statement reports a lost gateway

    @property
    def _session_path(self) -> str:
        return f"{API}/sessions/{self.session}"

    def _op(self, handle: str) -> str:
        return f"{self._session_path}/operations/{handle}"

    # -- operations ------------------------------------------------------------------------
    def submit(self, statement: str) -> str:
        body = self._call("POST", f"{self._session_path}/statements", json={"statement": statement})
        return body["operationHandle"]

    def status(self, handle: str) -> str:
        return self._call("GET", f"{self._op(handle)}/status")["status"]

    def wait(self, handle: str, cancelled: threading.Event | None = None) -> str:
        delay = 0.005
        while True:
            state = self.status(handle)
            if state not in ("PENDING", "RUNNING", "INITIALIZED"):
                return state
            if cancelled is not None and cancelled.is_set():
                return state
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def fetch(self, handle: str, token: int) -> Page:
        body = self._call("GET", f"{self._op(handle)}/result/{token}", params={"rowFormat": "JSON"})
        results = body.get("results") or {}
        next_uri = body.get("nextResultUri")
        next_token = int(next_uri.split("/result/")[1].split("?")[0]) if next_uri else None
        return Page(
            result_type=body.get("resultType", "PAYLOAD"),
            table=page_table(results.get("columns") or [], results.get("data") or []),
            next_token=next_token,
            is_query=bool(body.get("isQueryResult")),
            job_id=body.get("jobID"),
            result_kind=body.get("resultKind"),
        )

    def cancel(self, handle: str) -> None:
        self._call("POST", f"{self._op(handle)}/cancel")

    def close_operation(self, handle: str) -> None:
        self._call("DELETE", f"{self._op(handle)}/close")

    def close(self) -> None:
        self._stop.set()
        try:
            self._call("DELETE", self._session_path)
        except FlowSQLError:
            pass
        finally:
            self._http.close()


def arrow_type(logical: dict[str, Any] | None) -> pa.DataType:
    """The Arrow type of a Flink ``logicalType`` JSON object (strings for what is not mapped)."""
    name = (logical or {}).get("type", "VARCHAR")
    if name in _SIMPLE:
        return _SIMPLE[name]
    if name == "DECIMAL":
        return pa.decimal128(int(logical.get("precision", 10)), int(logical.get("scale", 0)))
    if name in _TIMES:
        unit = "ms" if int(logical.get("precision", 3)) <= 3 else "us"
        return pa.time64("us") if name.startswith("TIME_") else pa.timestamp(unit)
    return pa.string()


def page_table(columns: list[dict[str, Any]], data: list[dict[str, Any]]) -> pa.Table:
    """Rows of a JSON result page as an Arrow table with a ``$row_kind`` column."""
    arrays, names = [], []
    for i, col in enumerate(columns):
        values = [row["fields"][i] for row in data]
        arrays.append(_array(values, arrow_type(col.get("logicalType"))))
        names.append(col["name"])
    kinds = [_KINDS.get(row.get("kind", "INSERT"), RowKind.INSERT) for row in data]
    arrays.append(pa.array(kinds, pa.int8()))
    names.append(ROW_KIND)
    return pa.table(arrays, names=names)


def _array(values: list[Any], typ: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(typ) or pa.types.is_time(typ) or pa.types.is_date(typ):
        strings = pa.array([None if v is None else str(v) for v in values], pa.string())
        try:
            if pa.types.is_time(typ):
                return strings.cast(pa.time64("us"))
            return strings.cast(typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return strings
    if pa.types.is_string(typ):
        values = [v if v is None or isinstance(v, str) else str(v) for v in values]
    try:
        return pa.array(values, typ)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())
