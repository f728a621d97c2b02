"""Control messages and FlowSQL errors as small, versioned JSON bytes (orjson).

Contract:
- :func:`encode_message` / :func:`decode_message`: ``Watermark`` → ``{"v":1,"t":"wm","ts":N}``,
  ``IdleMarker`` → ``{"v":1,"t":"idle","idle":B}``, ``EndOfInput`` → ``{"v":1,"t":"end"}``,
  ``CheckpointBarrier`` → ``{"v":1,"t":"cb","id":N}`` (plus ``"dir"`` for a savepoint). Another version or an unknown type
  raises :class:`~flowsql.errors.ExecutionError`.
- :func:`encode_error` / :func:`decode_error`: a :class:`~flowsql.errors.FlowSQLError` travels
  as its class name, message, hint and the class's extra attributes (``operator_id``, ``line``,
  ``col``, ``source_line``, ``construct``, ``position``) and comes back as the same class with the
  same ``str()`` and ``render()``. Other exceptions, and class names that are not FlowSQL errors,
  come back as ``ExecutionError``.
"""

from __future__ import annotations

from typing import Any

import orjson

from flowsql import errors
from flowsql.errors import ExecutionError, FlowSQLError
from flowsql.messages import (
    CheckpointBarrier,
    ControlMessage,
    EndOfInput,
    IdleMarker,
    Watermark,
)

VERSION = 1
_EXTRA_ATTRS = ("operator_id", "line", "col", "source_line", "construct", "position")


def encode_message(message: ControlMessage) -> bytes:
    if isinstance(message, Watermark):
        return orjson.dumps({"v": VERSION, "t": "wm", "ts": message.timestamp})
    if isinstance(message, EndOfInput):
        return orjson.dumps({"v": VERSION, "t": "end"})
    if isinstance(message, IdleMarker):
        return orjson.dumps({"v": VERSION, "t": "idle", "idle": message.idle})
    if isinstance(message, CheckpointBarrier):
        doc = {"v": VERSION, "t": "cb", "id": message.checkpoint_id}
        if message.target is not None:
            doc["dir"] = message.target
        return orjson.dumps(doc)
    raise TypeError(f"not a control message: {type(message).__name__}")


def decode_message(data: bytes | memoryview) -> ControlMessage:
    doc = _load(data, "control message")
    kind = doc.get("t")
    if kind == "wm":
        return Watermark(doc["ts"])
    if kind == "end":
        return EndOfInput()
    if kind == "idle":
        return IdleMarker(doc["idle"])
    if kind == "cb":
        return CheckpointBarrier(doc["id"], doc.get("dir"))
    raise ExecutionError(f"unknown control message type {kind!r}")


def encode_error(exc: BaseException) -> bytes:
    return orjson.dumps(error_to_dict(exc))


def decode_error(data: bytes | memoryview) -> FlowSQLError:
    return error_from_dict(_load(data, "error"))


def error_to_dict(exc: BaseException) -> dict[str, Any]:
    if not isinstance(exc, FlowSQLError):
        return {"v": VERSION, "cls": "ExecutionError", "message": f"{type(exc).__name__}: {exc}"}
    doc: dict[str, Any] = {"v": VERSION, "cls": type(exc).__name__, "message": exc.message}
    if exc.hint is not None:
        doc["hint"] = exc.hint
    for attr in _EXTRA_ATTRS:
        value = getattr(exc, attr, None)
        if isinstance(value, str | int) and not isinstance(value, bool):
            doc[attr] = value
    return doc


def error_from_dict(doc: dict[str, Any]) -> FlowSQLError:
    message = str(doc.get("message", ""))
    cls = getattr(errors, str(doc.get("cls", "")), None)
    if not (isinstance(cls, type) and issubclass(cls, FlowSQLError)):
        return ExecutionError(message, hint=doc.get("hint"))
    # Built without __init__: the subclasses' constructors differ (line/col, construct, ...).
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.message = message
    err.hint = doc.get("hint")
    for attr in _EXTRA_ATTRS:
        if attr in doc:
            setattr(err, attr, doc[attr])
    if isinstance(err, ExecutionError) and not hasattr(err, "operator_id"):
        err.operator_id = None
    if isinstance(err, errors.SqlParseError):
        for attr, default in (("line", 0), ("col", 0), ("source_line", "")):
            if not hasattr(err, attr):
                setattr(err, attr, default)
    return err


def _load(data: bytes | memoryview, what: str) -> dict[str, Any]:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ExecutionError(f"malformed {what} on the wire: {exc}") from None
    if not isinstance(doc, dict):
        raise ExecutionError(f"malformed {what} on the wire: not an object")
    if doc.get("v") != VERSION:
        raise ExecutionError(
            f"{what} has wire version {doc.get('v')!r}; this process speaks version {VERSION}",
            hint="run the same FlowSQL version on every JobManager and TaskManager",
        )
    return doc
