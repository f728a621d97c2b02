"""flowsql/batch/numeric.py: Flink's integer division, MOD and integer casts on DuckDB."""

from __future__ import annotations

import math
import re

import pytest

from flowsql.errors import ExecutionError


def one_row(bsession, select: str) -> dict:
    return bsession.execute_one(f"SELECT {select}").table.to_pylist()[0]


def test_integer_division_truncates_toward_zero_and_keeps_the_type(bsession):
    row = one_row(bsession, "7 / 2 AS a, -7 / 2 AS b, 7 / -2 AS c, CAST(7 AS BIGINT) / 2 AS d, "
                            "CAST(NULL AS INT) / 0 AS e, 7.0 / 2 AS f")
    assert row == {"a": 3, "b": -3, "c": -3, "d": 3, "e": None, "f": 3.5}
    table = bsession.execute_one("SELECT 7 / 2 AS a, CAST(7 AS BIGINT) / 2 AS d").table
    assert [str(t) for t in table.schema.types] == ["int32", "int64"]


def test_double_division_by_zero_is_infinity_or_nan(bsession):
    row = one_row(bsession, "CAST(1 AS DOUBLE) / 0 AS a, -1 / CAST(0 AS DOUBLE) AS b, "
                            "CAST(0 AS DOUBLE) / 0 AS c")
    assert row["a"] == math.inf and row["b"] == -math.inf and math.isnan(row["c"])


@pytest.mark.parametrize("expr, text", [
    ("1 / 0", "1 / 0"), ("MOD(7, 0)", "7 % 0"), ("7 % 0", "7 % 0"),
    ("CAST(7 AS DECIMAL(5, 1)) / 0", "CAST(7 AS DECIMAL(5, 1)) / 0"),
])
def test_exact_division_by_zero_raises(bsession, expr, text):
    with pytest.raises(ExecutionError, match=re.escape(f"division by zero in '{text}'")):
        one_row(bsession, expr)


def test_integer_casts_truncate(bsession):
    row = one_row(bsession, "CAST(2.7 AS INT) AS a, CAST(-2.7 AS INT) AS b, "
                            "CAST(CAST(-2.5 AS DOUBLE) AS BIGINT) AS c, CAST('3.9' AS INT) AS d, "
                            "CAST(CAST(9.99 AS FLOAT) AS SMALLINT) AS e, TRY_CAST('x' AS INT) AS f, "
                            "CAST(TRUE AS INT) AS g")
    assert row == {"a": 2, "b": -2, "c": -2, "d": 3, "e": 9, "f": None, "g": 1}


def test_a_string_that_is_no_number_fails_as_before(bsession):
    with pytest.raises(ExecutionError, match="Could not convert string 'x' to INT"):
        one_row(bsession, "CAST('x' AS INT)")
