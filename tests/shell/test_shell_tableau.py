"""Flink-style ASCII lines of live results: widths by type, cutting, the op column."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from flowsql.messages import ROW_KIND
from flowsql.shell.tableau import (
    border,
    header,
    layout_by_type,
    layout_by_values,
    row_lines,
)


def test_widths_follow_flink_by_type() -> None:
    schema = pa.schema(
        [
            ("i8", pa.int8()),
            ("i16", pa.int16()),
            ("i", pa.int32()),
            ("b", pa.int64()),
            ("d", pa.decimal128(10, 2)),
            ("flag", pa.bool_()),
            ("day", pa.date32()),
            ("ts", pa.timestamp("ms")),
            ("ts0", pa.timestamp("s")),
            ("s", pa.string()),
            ("a_rather_long_column_name_indeed_yes", pa.int32()),
        ]
    )
    layout = layout_by_type(schema, changelog=False)
    assert layout.widths == (4, 6, 11, 20, 12, 5, 10, 23, 19, 30, 36)
    assert layout.names[0] == "i8" and all(layout.right)


def test_changelog_gets_an_op_column_and_lines_are_aligned() -> None:
    schema = pa.schema([("name", pa.string()), ("cnt", pa.int64())])
    layout = layout_by_type(schema, changelog=True)
    batch = pa.record_batch(
        {
            "name": ["Bob", "Bob", None],
            "cnt": [1, 2, 3],
            ROW_KIND: pa.array([1, 2, 0], pa.int8()),
        }
    )
    assert border(layout) == "+----+" + "-" * 32 + "+" + "-" * 22 + "+"
    assert header(layout) == "| op |" + " " * 27 + "name |" + " " * 18 + "cnt |"
    lines = row_lines(batch, layout)
    assert lines == [
        "| -U |" + " " * 28 + "Bob |" + " " * 20 + "1 |",
        "| +U |" + " " * 28 + "Bob |" + " " * 20 + "2 |",
        "| +I |" + " " * 27 + "NULL |" + " " * 20 + "3 |",
    ]
    assert {len(line) for line in lines} == {len(border(layout))}


def test_long_text_is_cut_with_an_ellipsis_and_newlines_flattened() -> None:
    schema = pa.schema([("s", pa.string())])
    layout = layout_by_type(schema, changelog=False, max_width=8)
    batch = pa.record_batch({"s": ["abcdefghijkl", "two\nlines", "short"]})
    assert row_lines(batch, layout) == [
        "| abcde... |",
        "| two l... |",
        "|    short |",
    ]


def test_values_text_matches_the_shell_tables() -> None:
    schema = pa.schema(
        [
            ("ts", pa.timestamp("ms")),
            ("flag", pa.bool_()),
            ("price", pa.decimal128(6, 2)),
            ("r", pa.struct([("a", pa.int32()), ("b", pa.string())])),
        ]
    )
    batch = pa.record_batch(
        [
            pa.array([dt.datetime(2024, 1, 1, 0, 0, 2)], pa.timestamp("ms")),
            pa.array([True]),
            pa.array([Decimal("12.50")], pa.decimal128(6, 2)),
            pa.array([{"a": 1, "b": "x"}], schema.field("r").type),
        ],
        schema=schema,
    )
    layout = layout_by_type(schema, changelog=False)
    (line,) = row_lines(batch, layout)
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells == ["2024-01-01 00:00:02.000", "TRUE", "12.50", "(1, x)"]


def test_layout_by_values_fits_the_rows_on_screen() -> None:
    schema = pa.schema([("k", pa.int32()), ("city", pa.string())])
    data = pa.table({"k": [1, 100], "city": ["Kent", "Los Angeles"]})
    layout, texts = layout_by_values(data, schema, changelog=False)
    assert layout.widths == (3, 11)
    assert layout.right == (True, False)  # numbers right, text left
    lines = row_lines(data, layout, texts=texts)
    assert lines == ["|   1 | Kent        |", "| 100 | Los Angeles |"]
    empty, _ = layout_by_values(data.slice(0, 0), schema, changelog=True)
    assert empty.names == ("op", "k", "city") and empty.widths == (2, 1, 4)
