"""FlowFlightServer + ControlClient: actions round-trip, errors keep their class, unknown
actions and versions are explained, an unreachable server is a clear ExecutionError; DoGet
serves a gate's result batches."""

from __future__ import annotations

import re
import socket
import threading

import orjson
import pyarrow as pa
import pyarrow.flight as flight
import pytest

from flowsql import errors
from flowsql.messages import EndOfInput, Watermark
from flowsql.runtime.network.client import ControlClient
from flowsql.runtime.network.exchange import FlightChannelWriter, ResultStreams
from flowsql.runtime.network.gates import GateRegistry
from flowsql.runtime.network.server import FlowFlightServer
from flowsql.runtime.taskmanager.channels import InProcessInputGate


def _fail_validation(payload: dict) -> dict:
    raise errors.ValidationError(f"no table {payload['table']}", hint="run SHOW TABLES")


def _fail_execution(payload: dict) -> dict:
    raise errors.ExecutionError("overflow", operator_id="agg-2")


def _fail_bug(payload: dict) -> dict:
    raise KeyError("internal")


@pytest.fixture(scope="module")
def server():
    registry = GateRegistry()
    srv = FlowFlightServer(
        "127.0.0.1",
        0,
        gates=registry,
        actions={
            "echo": lambda payload: {"got": payload},
            "validation": _fail_validation,
            "execution": _fail_execution,
            "bug": _fail_bug,
        },
        streams=ResultStreams(registry, gate_timeout=5).serve,
        gate_timeout=0.3,
    ).serve_in_thread()
    yield srv
    srv.shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_round_trip(server):
    client = ControlClient(server.location)
    assert server.port > 0 and server.location.startswith("grpc+tcp://127.0.0.1:")
    assert client.call("echo", {"job": "abc", "n": [1, 2]}) == {"got": {"job": "abc", "n": [1, 2]}}


def test_flowsql_errors_are_reraised_with_class_message_and_hint(server):
    client = ControlClient(server.location)
    with pytest.raises(errors.ValidationError) as info:
        client.call("validation", {"table": "t"})
    assert (str(info.value), info.value.hint) == ("no table t", "run SHOW TABLES")
    with pytest.raises(errors.ExecutionError) as info:
        client.call("execution", {})
    assert info.value.operator_id == "agg-2"
    with pytest.raises(errors.ExecutionError, match="KeyError"):
        client.call("bug", {})


def test_unknown_action_lists_known_ones(server):
    with pytest.raises(errors.ExecutionError, match="unknown action 'nope'.*bug, echo"):
        ControlClient(server.location).call("nope", {})


def test_version_mismatch_is_explained(server):
    raw = flight.FlightClient(server.location)
    (result,) = raw.do_action(flight.Action("echo", orjson.dumps({"v": 2})))
    reply = orjson.loads(result.body.to_pybytes())
    assert reply["error"]["cls"] == "ExecutionError"
    assert "version 2" in reply["error"]["message"]
    raw.close()


def test_unreachable_server_is_a_clear_execution_error():
    location = f"grpc+tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(errors.ExecutionError, match=re.escape(f"cannot reach {location}: ")):
        ControlClient(location, timeout=2).call("echo", {})


def test_writer_to_unreachable_server_names_location_and_gate():
    location = f"grpc+tcp://127.0.0.1:{_free_port()}"
    writer = FlightChannelWriter(location, "job/1.0", 3, connect_timeout=0.3)
    with pytest.raises(errors.ExecutionError, match=re.escape(f"cannot reach {location} (gate 'job/1.0', channel 3)")):
        writer.put(Watermark(1))
    writer.close()


def test_writer_to_missing_gate_gets_the_receivers_error(server):
    writer = FlightChannelWriter(server.location, "never/1.0", 0)
    with pytest.raises(errors.ExecutionError, match="'never/1.0' was not registered"):
        writer.put(Watermark(1))
    writer.abort()


def test_result_stream_serves_a_gates_batches(server):
    gate = InProcessInputGate("r/result", 2)
    server.gates.register("r/result", gate)

    def produce(ch: int) -> None:
        w = gate.writer(ch)
        w.put(Watermark(0))
        for i in range(5):
            w.put(pa.record_batch({"ch": [ch], "i": [i]}))
        w.put(EndOfInput())

    threads = [threading.Thread(target=produce, args=(c,)) for c in range(2)]
    for t in threads:
        t.start()
    rows = pa.Table.from_batches(list(ControlClient(server.location).fetch("r/result"))).to_pylist()
    for t in threads:
        t.join()
    assert sorted((r["ch"], r["i"]) for r in rows) == [(c, i) for c in range(2) for i in range(5)]
    server.gates.remove("r/result")
