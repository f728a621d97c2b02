"""One fetched page (:class:`~flowsql.gateway.operation.ResultPage`) as Flink's REST JSON,
as NDJSON lines, or as Arrow IPC.

Contract:
- :func:`fetch_body` gives the body of ``GET …/result/{token}``, Flink's
  ``FetchResultsResponseBody``: ``resultType``; for ``PAYLOAD``/``EOS`` also ``isQueryResult``,
  ``jobID`` (when the statement has a job), ``resultKind`` and ``results``
  (``{columns, rowFormat, data}``); ``nextResultUri`` unless ``EOS``. ``NOT_READY`` carries
  only ``resultType`` and ``nextResultUri``, as in Flink.
- ``results.data`` rows are ``{"kind": "INSERT"|"UPDATE_BEFORE"|"UPDATE_AFTER"|"DELETE",
  "fields": [...]}``. ``JSON`` fields follow Flink's JSON row format: numbers and booleans as
  JSON, DECIMAL as an exact JSON number, bytes in base64, DATE ``2024-01-31``, TIME
  ``12:00:01``, TIMESTAMP ``2024-01-31T12:00:01.123``, TIMESTAMP_LTZ with a ``Z``, ARRAY as a
  list, MAP and ROW as objects. ``PLAIN_TEXT`` fields are the text Flink's ``CAST(… AS
  STRING)`` gives (the shell's cell text: ``TRUE``, ``x'0a'``, ``2024-01-31 12:00:01.123``,
  ``[1, 2]``, ``{k=v}``); a NULL is JSON ``null`` in both formats.
- Columns are converted a column at a time with ``pyarrow.compute``; only nested and binary
  values are converted value by value. A page becomes Python rows only to be encoded.
- :func:`arrow_ipc` gives a page as an Arrow IPC stream (the page's columns; a changelog keeps
  its ``$row_kind`` int8 column, :class:`flowsql.messages.RowKind`).
- Flink's ``jobID`` is 32 hex digits; a FlowSQL job id (16) is left-padded with zeros.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.gateway.operation import ResultPage
from flowsql.gateway.rest.logical_types import logical_type
from flowsql.messages import ROW_KIND, RowKind
from flowsql.session.cells import text_array

KIND_NAMES = [k.name for k in RowKind]
ROW_FORMATS = ("JSON", "PLAIN_TEXT", "ARROW")
ARROW_MEDIA_TYPE = "application/vnd.apache.arrow.stream"


def flink_job_id(job_id: str | None) -> str | None:
    if not job_id:
        return None
    try:
        int(job_id, 16)
    except ValueError:
        return None
    return job_id.lower().rjust(32, "0")[-32:]


def fetch_body(page: ResultPage, row_format: str, next_uri: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"resultType": page.result_type}
    if page.result_type != "NOT_READY":
        body["isQueryResult"] = page.is_query
        job = flink_job_id(page.job_id)
        if job:
            body["jobID"] = job
        body["resultKind"] = page.kind
        body["results"] = {
            "columns": columns(page.data.schema),
            "rowFormat": row_format,
            "data": rows(page.data, row_format),
        }
    if page.result_type != "EOS" and next_uri is not None:
        body["nextResultUri"] = next_uri
    return body


def columns(schema: pa.Schema) -> list[dict[str, Any]]:
    return [{"name": f.name, "logicalType": logical_type(f.type, f.nullable), "comment": None}
            for f in schema if f.name != ROW_KIND]


def rows(table: pa.Table, row_format: str = "JSON") -> list[dict[str, Any]]:
    """The page's rows as ``{"kind", "fields"}`` objects."""
    n = table.num_rows
    if not n:
        return []
    if ROW_KIND in table.column_names:
        kinds = [KIND_NAMES[k] for k in table.column(ROW_KIND).to_pylist()]
        table = table.drop_columns([ROW_KIND])
    else:
        kinds = ["INSERT"] * n
    convert = _plain_column if row_format == "PLAIN_TEXT" else _json_column
    cols = [convert(table.column(i)) for i in range(table.num_columns)]
    return [{"kind": k, "fields": list(f)} for k, f in zip(kinds, zip(*cols, strict=True),
                                                           strict=True)]


def encode(body: Any) -> bytes:
    return orjson.dumps(body, default=_default)


def arrow_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


# -- columns -------------------------------------------------------------------------------
def _trim_fraction(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Flink writes a TIME with as few fraction digits as needed: 12:00:01, 12:00:01.5."""
    text = pc.replace_substring_regex(text, r"(\.\d*?)0+$", r"\1")
    return pc.replace_substring_regex(text, r"\.$", "")


def _plain_column(col: pa.ChunkedArray) -> list[Any]:
    text = text_array(col)
    if pa.types.is_time(col.type):
        text = _trim_fraction(text)
    text = text.to_pylist()
    if col.null_count:
        valid = pc.is_valid(col).to_pylist()
        text = [t if ok else None for t, ok in zip(text, valid, strict=True)]
    return text


def _json_column(col: pa.ChunkedArray) -> list[Any]:
    t = col.type
    if pa.types.is_dictionary(t):
        col, t = col.cast(t.value_type), t.value_type
    if pa.types.is_timestamp(t):
        text = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S" + ("Z" if t.tz else ""))
        return text.to_pylist()
    if pa.types.is_date(t):
        return col.cast(pa.string()).to_pylist()
    if pa.types.is_time(t):
        return _trim_fraction(col.cast(pa.string())).to_pylist()
    if pa.types.is_decimal(t):
        return [None if v is None else orjson.Fragment(v)
                for v in col.cast(pa.string()).to_pylist()]
    if (pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
            or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)):
        return col.to_pylist()
    if pa.types.is_string_view(t):
        return col.cast(pa.string()).to_pylist()
    if pa.types.is_nested(t) or _is_binary(t):
        return [_json_value(v) for v in col.to_pylist()]
    return [None if v is None else str(v) for v in col.to_pylist()]


def _is_binary(t: pa.DataType) -> bool:
    return (pa.types.is_binary(t) or pa.types.is_large_binary(t)
            or pa.types.is_fixed_size_binary(t) or pa.types.is_binary_view(t))


def _json_value(v: Any) -> Any:
    """A nested value (from ``to_pylist``) in Flink's JSON row format."""
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    if isinstance(v, list):
        if v and all(isinstance(x, tuple) and len(x) == 2 for x in v):  # a map's entries
            return {_map_key(k): _json_value(x) for k, x in v}
        return [_json_value(x) for x in v]
    if isinstance(v, dt.datetime):
        return v.isoformat().replace("+00:00", "Z")
    return v


def _map_key(k: Any) -> str:
    return k if isinstance(k, str) else orjson.dumps(_json_value(k), default=_default).decode()


def _default(v: Any) -> Any:
    if isinstance(v, decimal.Decimal):
        return orjson.Fragment(str(v))
    if isinstance(v, dt.timedelta):
        return str(v)
    raise TypeError(f"cannot encode {type(v).__name__}")
