"""Wire codec: control messages and FlowSQL errors round-trip; versions are checked."""

from __future__ import annotations

import orjson
import pytest

from flowsql import errors
from flowsql.messages import (
    MAX_WATERMARK,
    MIN_WATERMARK,
    CheckpointBarrier,
    EndOfInput,
    IdleMarker,
    Watermark,
)
from flowsql.runtime.network.codec import (
    decode_error,
    decode_message,
    encode_error,
    encode_message,
)


@pytest.mark.parametrize(
    "message",
    [
        Watermark(0),
        Watermark(MIN_WATERMARK),
        Watermark(MAX_WATERMARK),
        IdleMarker(),
        IdleMarker(False),
        EndOfInput(),
        CheckpointBarrier(42),
    ],
)
def test_control_messages_round_trip(message):
    data = encode_message(message)
    assert len(data) < 64
    assert decode_message(data) == message


def test_message_version_and_type_are_checked():
    with pytest.raises(errors.ExecutionError, match="version 2"):
        decode_message(orjson.dumps({"v": 2, "t": "end"}))
    with pytest.raises(errors.ExecutionError, match="unknown control message"):
        decode_message(orjson.dumps({"v": 1, "t": "nope"}))
    with pytest.raises(errors.ExecutionError, match="malformed"):
        decode_message(b"{not json")


@pytest.mark.parametrize(
    "error",
    [
        errors.ValidationError("no column x", hint="did you mean y?"),
        errors.CatalogError("table t exists"),
        errors.NotSupportedError("MATCH_RECOGNIZE", hint="later"),
        errors.SqlParseError("unexpected ','", line=2, col=7, source_line="SELECT a,, b"),
        errors.ExecutionError("division by zero", operator_id="calc-3"),
        errors.MalformedRecordError("bad JSON", position="in.json:12"),
        errors.QueryCancelled("cancelled by user"),
        errors.ConnectorError("missing option 'path'"),
    ],
)
def test_flowsql_errors_round_trip_as_the_same_class(error):
    back = decode_error(encode_error(error))
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert back.render() == error.render()
    assert back.hint == error.hint
    assert getattr(back, "operator_id", None) == getattr(error, "operator_id", None)


def test_other_exceptions_and_unknown_classes_become_execution_errors():
    back = decode_error(encode_error(ValueError("boom")))
    assert type(back) is errors.ExecutionError
    assert "boom" in str(back)
    back = decode_error(orjson.dumps({"v": 1, "cls": "SystemExit", "message": "m", "hint": "h"}))
    assert type(back) is errors.ExecutionError
    assert (back.message, back.hint) == ("m", "h")
