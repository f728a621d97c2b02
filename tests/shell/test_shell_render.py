"""Rendering of results and errors (rich, written to an in-memory text stream)."""

from __future__ import annotations

import datetime as dt
import decimal
import io

import pyarrow as pa

from flowsql.errors import (
    CatalogError,
    ExecutionError,
    QueryCancelled,
    SqlParseError,
)
from flowsql.messages import ROW_KIND
from flowsql.session.result import Result
from flowsql.shell.render import Renderer, column_text, make_console, rows_footer


def _renderer(verbose: bool = False, max_rows: int = 1000) -> tuple[Renderer, io.StringIO]:
    buffer = io.StringIO()
    return Renderer(make_console(buffer), verbose=verbose, max_rows=max_rows), buffer


def _rows(text: str) -> list[list[str]]:
    """The cells of every table row (header included) in rendered text."""
    return [
        [cell.strip() for cell in line.strip()[1:-1].split("|")]
        for line in text.splitlines()
        if line.startswith("|")
    ]


def test_table_result_with_nulls_timestamps_and_footer() -> None:
    table = pa.table(
        {
            "id": pa.array([1, None], pa.int64()),
            "name": pa.array(["a", None]),
            "ts": pa.array([dt.datetime(2024, 1, 1, 12, 0, 0), None], pa.timestamp("ms")),
            "ok": pa.array([True, None]),
        }
    )
    result = Result.rows(table)
    result.elapsed = 0.123
    renderer, buffer = _renderer()
    renderer.result(result)
    text = buffer.getvalue()
    lines = text.splitlines()
    assert lines[0].startswith("+") and lines[0].endswith("+")
    assert _rows(text) == [
        ["id", "name", "ts", "ok"],
        ["1", "a", "2024-01-01 12:00:00.000", "TRUE"],
        ["NULL", "NULL", "NULL", "NULL"],
    ]
    assert "2 rows in set (0.12 seconds)" in text
    assert "\x1b[" not in text  # no colour codes when the output is not a terminal


def test_wide_tables_are_not_squeezed_when_not_a_terminal() -> None:
    table = pa.table({f"column_{i}": [f"value-{i}-" + "x" * 30] for i in range(12)})
    renderer, buffer = _renderer()
    renderer.result(Result.rows(table))
    text = buffer.getvalue()
    for i in range(12):
        assert f"value-{i}-" + "x" * 30 in text


def test_table_messages_except_row_counts() -> None:
    renderer, buffer = _renderer()
    renderer.result(Result.rows(pa.table({"n": [1]}), message="5 row(s) in set"))
    renderer.result(Result.rows(pa.table({"n": [1]}), message="Plan follows"))
    text = buffer.getvalue()
    assert "row(s)" not in text and text.count("1 row in set") == 2
    assert "Plan follows" in text


def test_footer_and_row_limit() -> None:
    assert rows_footer(1, 0.0) == "1 row in set (0.00 seconds)"
    assert rows_footer(0, 1.5) == "0 rows in set (1.50 seconds)"
    renderer, buffer = _renderer(max_rows=3)
    renderer.result(Result.rows(pa.table({"n": list(range(10))})))
    text = buffer.getvalue()
    assert "(showing the first 3 of 10 rows)" in text
    assert "10 rows in set" in text
    assert _rows(text) == [["n"], ["0"], ["1"], ["2"]]


def test_column_text_per_type() -> None:
    assert column_text(pa.array([dt.datetime(2024, 1, 1, 12, 0, 0, 500000)], pa.timestamp("us"))) == [
        "2024-01-01 12:00:00.500000"
    ]
    assert column_text(pa.array([dt.datetime(2024, 1, 1, 12, 0, 0)], pa.timestamp("s"))) == [
        "2024-01-01 12:00:00"
    ]
    ltz = pa.array([dt.datetime(2024, 1, 1, 12, 0, 0)], pa.timestamp("ms", tz="UTC"))
    assert column_text(ltz, "Europe/Paris") == ["2024-01-01 13:00:00.000"]
    assert column_text(pa.array([dt.date(2024, 1, 2), None])) == ["2024-01-02", "NULL"]
    assert column_text(pa.array([decimal.Decimal("1.50")])) == ["1.50"]
    assert column_text(pa.array([b"\x01\xff", None])) == ["x'01ff'", "NULL"]
    assert column_text(pa.array([[1, 2], None, []])) == ["[1, 2]", "NULL", "[]"]
    assert column_text(pa.array([{"a": 1, "b": "x"}])) == ["(1, x)"]
    assert column_text(pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64()))) == ["{k=1}"]
    assert column_text(pa.array([None, None], pa.null())) == ["NULL", "NULL"]
    assert column_text(pa.chunked_array([["a"], ["b"]])) == ["a", "b"]
    assert column_text(pa.array(["x", "y", "x"]).dictionary_encode()) == ["x", "y", "x"]


def test_changelog_column_shows_as_op() -> None:
    table = pa.table({ROW_KIND: pa.array([0, 1, 2, 3], pa.int8()), "v": [1, 1, 2, 2]})
    renderer, buffer = _renderer()
    renderer.result(Result.rows(table))
    text = buffer.getvalue()
    assert "op" in text and ROW_KIND not in text
    for kind in ("+I", "-U", "+U", "-D"):
        assert kind in text


def test_ok_and_job_results() -> None:
    renderer, buffer = _renderer()
    renderer.result(Result.ok("[INFO] Execute statement succeeded."))
    renderer.result(Result("job", message="[INFO] Submitted.", job_id="abc123"))
    text = buffer.getvalue()
    assert "[INFO] Execute statement succeeded." in text
    assert "[INFO] Submitted." in text and "Job ID: abc123" in text


def test_errors_render_without_traceback() -> None:
    renderer, buffer = _renderer()
    renderer.error(
        SqlParseError("unexpected token 'FORM'", line=1, col=10, source_line="SELECT * FORM t")
    )
    renderer.error(CatalogError("Table 'x' not found", hint="existing tables: y"))
    renderer.error(QueryCancelled("cancelled by the user"))
    text = buffer.getvalue()
    assert "SQL parse error at line 1, column 10: unexpected token 'FORM'" in text
    assert "         ^" in text
    assert "Catalog error: Table 'x' not found" in text and "Hint: existing tables: y" in text
    assert "Query cancelled." in text
    assert "Traceback" not in text


def test_internal_error_message_and_verbose_traceback() -> None:
    def fail() -> None:
        raise KeyError("boom")

    try:
        fail()
    except KeyError as error:
        caught = error
    renderer, buffer = _renderer()
    renderer.error(caught)
    text = buffer.getvalue()
    assert "Internal error: KeyError: 'boom' (run with --verbose for the traceback)" in text
    assert "Traceback" not in text

    renderer, buffer = _renderer(verbose=True)
    renderer.error(caught)
    renderer.error(ExecutionError("division by zero", operator_id="calc-1"))
    text = buffer.getvalue()
    assert "Traceback" in text and "in fail" in text
    assert "Internal error: KeyError: 'boom'" in text
    assert "Execution error in operator calc-1: division by zero" in text
