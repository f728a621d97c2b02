"""Data first: a page of every common type, encoded as Flink's ResultInfo in JSON and
PLAIN_TEXT row formats, compared with the expected documents in ``fixtures/`` (written for
FlowSQL after Flink's ``result_info_*`` test resources); plus Arrow IPC and job ids."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path

import pyarrow as pa
import pytest

from flowsql.gateway.operation import ResultPage
from flowsql.gateway.rest import results
from flowsql.gateway.rest.logical_types import logical_type
from flowsql.messages import ROW_KIND

FIXTURES = Path(__file__).with_name("fixtures")


def every_type_page() -> ResultPage:
    table = pa.table({
        "bool": pa.array([True, None], pa.bool_()),
        "tinyint": pa.array([99, None], pa.int8()),
        "smallint": pa.array([128, None], pa.int16()),
        "int": pa.array([45536, None], pa.int32()),
        "bigint": pa.array([1238123899121, None], pa.int64()),
        "double": pa.array([33.25, None], pa.float64()),
        "name": pa.array(["asdlkj", None], pa.string()),
        "bytes": pa.array([b"\x01\xff", None], pa.binary()),
        "decimal": pa.array([decimal.Decimal("123.456789"), None], pa.decimal128(9, 6)),
        "doubles": pa.array([[1.1, 2.2], None], pa.list_(pa.float64())),
        "date": pa.array([dt.date(1990, 10, 14), None], pa.date32()),
        "time": pa.array([dt.time(12, 12, 43), None], pa.time64("us")),
        "timestamp3": pa.array([dt.datetime(1990, 10, 14, 12, 12, 43, 123000), None],
                               pa.timestamp("ms")),
        "ltz": pa.array([dt.datetime(1990, 10, 14, 12, 12, 43, 123000), None],
                        pa.timestamp("ms", tz="UTC")),
        "map": pa.array([[("element", 123)], None], pa.map_(pa.string(), pa.int64())),
        "row": pa.array([{"a": 1, "b": "x"}, None],
                        pa.struct([("a", pa.int32()), ("b", pa.string())])),
        ROW_KIND: pa.array([0, 2], pa.int8()),
    })
    return ResultPage("PAYLOAD", table.schema, table, 1, is_query=True,
                      job_id="3f2a9c01b7e4d5a6", changelog=True)


@pytest.mark.parametrize("row_format, rows", [
    ("JSON", "rows_json.json"), ("PLAIN_TEXT", "rows_plain_text.json")])
def test_result_info_matches_fixtures(row_format, rows):
    uri = "/v4/sessions/s/operations/o/result/2?rowFormat=" + row_format
    body = json.loads(results.encode(results.fetch_body(every_type_page(), row_format, uri)))
    assert body == {
        "resultType": "PAYLOAD", "isQueryResult": True,
        "jobID": "00000000000000003f2a9c01b7e4d5a6", "resultKind": "SUCCESS_WITH_CONTENT",
        "results": {"columns": json.loads((FIXTURES / "columns.json").read_text()),
                    "rowFormat": row_format,
                    "data": json.loads((FIXTURES / rows).read_text())},
        "nextResultUri": uri}


def test_not_ready_and_eos_carry_only_flinks_fields():
    empty = pa.table({})
    page = ResultPage("NOT_READY", empty.schema, empty, 3)
    assert results.fetch_body(page, "JSON", "/v1/x/result/3") == {
        "resultType": "NOT_READY", "nextResultUri": "/v1/x/result/3"}
    t = pa.table({"result": ["OK"]})
    eos = results.fetch_body(ResultPage("EOS", t.schema, t.slice(0, 0), None, kind="SUCCESS"),
                             "JSON", None)
    assert eos == {"resultType": "EOS", "isQueryResult": False, "resultKind": "SUCCESS",
                   "results": {"columns": [{"name": "result", "logicalType": {
                       "type": "VARCHAR", "nullable": True, "length": 2147483647},
                       "comment": None}], "rowFormat": "JSON", "data": []}}


def test_arrow_ipc_round_trips_a_page():
    page = every_type_page()
    back = pa.ipc.open_stream(results.arrow_ipc(page.data)).read_all()
    assert back.equals(page.data)


def test_logical_types_of_nested_and_odd_columns():
    assert logical_type(pa.struct([("x", pa.int64())]), False) == {
        "type": "ROW", "nullable": False,
        "fields": [{"name": "x", "fieldType": {"type": "BIGINT", "nullable": True}}]}
    assert logical_type(pa.null()) == {"type": "NULL"}
    assert logical_type(pa.duration("s"))["type"] == "VARCHAR"  # no Flink mapping: text


def test_job_ids_are_flinks_32_hex_digits():
    assert results.flink_job_id("3f2a9c01b7e4d5a6") == "00000000000000003f2a9c01b7e4d5a6"
    assert results.flink_job_id("not-hex") is None and results.flink_job_id(None) is None
