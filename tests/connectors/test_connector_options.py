"""Option validation: unknown / missing / ill-typed / enum / placeholder errors and typed results."""

from __future__ import annotations

import pytest

from connectors.base import OptionSpec
from connectors.options import parse_duration_ms, validate_options
from connectors.registry import validate_table
from flowsql.errors import ConnectorError

SPECS = [
    OptionSpec("path", "string", required=True),
    OptionSpec("format", "enum", required=True, choices=("csv", "json", "parquet")),
    OptionSpec("size", "int", default="10"),
    OptionSpec("ratio", "float"),
    OptionSpec("flag", "bool", default="false"),
    OptionSpec("interval", "duration", default="1 min"),
    OptionSpec("delim", "char", default=","),
    OptionSpec("fields.<field>.kind", "enum", choices=("random", "sequence")),
]


def test_typed_values_and_defaults(make_table):
    t = make_table([("id", "INT")], {
        "connector": "x", "path": "/a", "format": "CSV", "ratio": "0.5", "flag": "TRUE",
        "delim": "\\t", "fields.id.kind": "sequence",
    })
    got = validate_options("x", SPECS, t.options, t)
    assert got == {
        "path": "/a", "format": "csv", "ratio": 0.5, "flag": True, "delim": "\t",
        "fields.id.kind": "sequence", "size": 10, "interval": 60_000,
    }


@pytest.mark.parametrize(
    ("text", "ms"),
    [("10 s", 10_000), ("500 ms", 500), ("1 min", 60_000), ("2h", 7_200_000), ("250", 250),
     ("1 d", 86_400_000), ("3 seconds", 3000)],
)
def test_durations(text, ms):
    assert parse_duration_ms(text) == ms


def test_unknown_option_lists_valid_ones_closest_first(make_table):
    t = make_table([("id", "INT")], {"path": "/a", "format": "csv", "formt": "x"})
    with pytest.raises(ConnectorError) as e:
        validate_options("filesystem", SPECS, t.options, t)
    assert str(e.value) == "Unsupported option 'formt' for connector 'filesystem'"
    assert e.value.hint.startswith("Supported options: format,")
    assert "path" in e.value.hint and "fields.<field>.kind" in e.value.hint


def test_missing_required_option(make_table):
    t = make_table([("id", "INT")], {"format": "csv"})
    with pytest.raises(ConnectorError) as e:
        validate_options("filesystem", SPECS, t.options, t)
    assert str(e.value) == "Missing required option 'path' for connector 'filesystem'"
    assert "path, format" in e.value.hint


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("size", "ten", "expected an integer"),
        ("ratio", "half", "expected a number"),
        ("flag", "yes", "expected 'true' or 'false'"),
        ("interval", "soon", "expected a duration"),
        ("interval", "5 parsecs", "expected a duration"),
        ("delim", ";;", "expected a single character"),
        ("format", "avro", "expected one of 'csv', 'json', 'parquet'"),
        ("fields.id.kind", "walk", "expected one of 'random', 'sequence'"),
    ],
)
def test_ill_typed_values_name_option_value_and_expectation(make_table, key, value, expected):
    t = make_table([("id", "INT")], {"path": "/a", "format": "csv", key: value})
    with pytest.raises(ConnectorError) as e:
        validate_options("filesystem", SPECS, t.options, t)
    msg = str(e.value)
    assert f"Invalid value '{value}' for option '{key}' of connector 'filesystem'" in msg
    assert expected in msg


def test_placeholder_must_name_a_physical_column(make_table):
    t = make_table([("user_id", "INT"), ("name", "STRING")], {
        "path": "/a", "format": "csv", "fields.usr_id.kind": "random",
    })
    with pytest.raises(ConnectorError) as e:
        validate_options("datagen", SPECS, t.options, t)
    assert "Unsupported option 'fields.usr_id.kind' for connector 'datagen'" in str(e.value)
    assert "'usr_id' is not a physical column" in str(e.value)
    assert e.value.hint.startswith("Physical columns: user_id")


def test_unknown_datagen_option_through_registry(make_table):
    t = make_table([("id", "INT")], {"connector": "datagen", "rows-per-secnd": "5"})
    with pytest.raises(ConnectorError) as e:
        validate_table(t)
    assert "Unsupported option 'rows-per-secnd' for connector 'datagen'" in str(e.value)
    assert e.value.hint.startswith("Supported options: rows-per-second")
