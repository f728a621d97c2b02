"""Java date patterns read once, rendered for DuckDB and Arrow (flowsql.date_patterns)."""

from __future__ import annotations

import pytest

from flowsql.date_patterns import Component, Strftime, parse_pattern
from flowsql.errors import NotSupportedError


@pytest.mark.parametrize(
    ("java", "duck"),
    [
        ("yyyy-MM-dd HH:mm:ss", "%Y-%m-%d %H:%M:%S"),
        ("yyyyMMdd", "%Y%m%d"),
        ("HH:mm:ss.SSS", "%H:%M:%S.%g"),
        ("HH:mm:ss.SSSSSS", "%H:%M:%S.%f"),
        ("yyyy-MM-dd'T'HH:mm", "%Y-%m-%dT%H:%M"),
        ("M/d/yy h:m a", "%-m/%-d/%y %-I:%-M %p"),
        ("hh 'o''clock' a", "%I o'clock %p"),
        ("EEE, d MMM yyyy", "%a, %-d %b %Y"),
        ("100%", "100%%"),
    ],
)
def test_duckdb_prints_with_one_strftime(java, duck):
    assert parse_pattern(java).segments("duckdb") == [Strftime(duck)]


def test_arrow_prints_unpadded_fields_and_fractions_as_components():
    assert parse_pattern("M/d HH:mm:ss.SSS").segments("arrow") == [
        Component("month"), Strftime("/"), Component("day"), Strftime(" %H:%M:%S."),
        Component("fraction", 3)]
    assert parse_pattern("ss.SS").segments("duckdb") == [Strftime("%S."), Component("fraction", 2)]


def test_parsing_uses_padded_codes_in_both_engines():
    assert parse_pattern("M/d/yyyy H:m").strptime() == "%m/%d/%Y %H:%M"
    assert parse_pattern("yyyy-MM-dd HH:mm:ss.SSS").fraction_digits == 3


@pytest.mark.parametrize("bad", ["yyyy-MM-dd Z", "HH:mm XXX", "G yyyy", "QQ", "DD"])
def test_unsupported_letters_are_named(bad):
    with pytest.raises(NotSupportedError) as err:
        parse_pattern(bad)
    assert bad.split()[-1][:2] in str(err.value) or bad[:2] in str(err.value)
    assert "supported letters" in (err.value.hint or "")
