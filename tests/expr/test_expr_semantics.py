"""compile_expression: errors, Flink typing rules and semantics DuckDB does not share."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from flowsql.errors import ExecutionError, NotSupportedError, SqlParseError, ValidationError
from flowsql.expr.compile import compile_expression
from flowsql.expr.strings import java_regex_to_re2
from flowsql.expr.typing import aggregate_type
from flowsql.types import parse_type

BATCH = pa.record_batch({
    "auction": pa.array([1, 2, 3, None], pa.int64()),
    "price": pa.array([100, 250, 7, None], pa.int64()),
    "bidder": pa.array([10, -7, 3, 4], pa.int32()),
    "channel": pa.array(["apple", "12", None, " 42 "]),
    "date_time": pa.array([0, 3_600_000, None, 86_399_999], pa.timestamp("ms")),
    "ltz": pa.array([0, 3_600_000, None, 86_399_999], pa.timestamp("ms", tz="UTC")),
    "bid": pa.array([{"price": 5, "meta": {"x": 1}}, None, {"price": 7, "meta": None},
                     {"price": 9, "meta": {"x": 2}}]),
})
SCHEMA = BATCH.schema


def ev(text: str, **kw) -> list:
    return compile_expression(text, SCHEMA, **kw).evaluate(BATCH).to_pylist()


def typ(text: str) -> str:
    return str(compile_expression(text, SCHEMA).flink_type.with_nullable(True))


# ---------------------------------------------------------------- errors


def test_unknown_column_lists_candidates_closest_first() -> None:
    with pytest.raises(ValidationError) as err:
        compile_expression("prise * 2", SCHEMA)
    msg = str(err.value)
    assert "'prise'" in msg
    assert msg.index("`price`") < msg.index("`auction`")
    assert "`channel`" in msg
    assert err.value.hint and "price" in err.value.hint


def test_unknown_row_field() -> None:
    with pytest.raises(ValidationError, match="no field 'cost'.*`price`"):
        compile_expression("bid.cost", SCHEMA)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("'abc' + 1", ["'+'", "STRING", "INT"]),
        ("channel * price", ["'*'", "STRING", "BIGINT"]),
        ("channel = 1", ["'='", "STRING", "INT"]),
        ("price AND TRUE", ["AND", "BIGINT"]),
        ("CONCAT(channel, price)", ["CONCAT", "BIGINT"]),
        ("UPPER(price)", ["UPPER", "BIGINT"]),
        ("CASE WHEN price > 1 THEN 'a' ELSE 1 END", ["CASE", "STRING", "INT"]),
        ("SUM(channel)", ["SUM", "STRING"]),
        ("price || 'x'", ["'||'", "BIGINT"]),
        ("CAST(date_time AS INT)", ["TIMESTAMP(3)", "INT"]),
    ],
)
def test_type_errors_name_operator_and_types(text: str, fragments: list[str]) -> None:
    with pytest.raises(ValidationError) as err:
        compile_expression(text, SCHEMA)
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)


def test_aggregate_in_scalar_context() -> None:
    with pytest.raises(ValidationError, match="aggregate function SUM"):
        compile_expression("SUM(price)", SCHEMA)


def test_unknown_function_suggests_names() -> None:
    with pytest.raises(ValidationError) as err:
        compile_expression("UPPPER(channel)", SCHEMA)
    assert "UPPPER" in str(err.value)
    assert err.value.hint and "UPPER" in err.value.hint


def test_wrong_arity() -> None:
    with pytest.raises(ValidationError, match="SPLIT_INDEX takes 3"):
        compile_expression("SPLIT_INDEX(channel, ',')", SCHEMA)


def test_not_supported_constructs() -> None:
    for text in ["MD5(channel)", "price IN (SELECT 1)", "date_time + INTERVAL '1' MONTH",
                 "REGEXP_EXTRACT(channel, channel)"]:
        with pytest.raises(NotSupportedError, match="^not supported yet: "):
            compile_expression(text, SCHEMA)


def test_parse_error() -> None:
    with pytest.raises(SqlParseError):
        compile_expression("price +", SCHEMA)


def test_cast_failure_names_value_and_try_cast_gives_null() -> None:
    with pytest.raises(ExecutionError, match="'apple'.*INT"):
        ev("CAST(channel AS INT)")
    assert ev("TRY_CAST(channel AS INT)") == [None, 12, None, 42]


def test_cast_failure_only_for_rows_a_case_branch_selects() -> None:
    text = "CASE WHEN channel <> 'apple' THEN CAST(channel AS INT) ELSE -1 END"
    assert ev(text) == [-1, 12, -1, 42]
    assert ev("channel <> 'apple' AND CAST(channel AS INT) > 20") == [False, False, None, True]


def test_division_by_zero_is_an_execution_error() -> None:
    with pytest.raises(ExecutionError, match="division by zero"):
        ev("price / (bidder - bidder)")
    assert ev("CASE WHEN bidder <> 3 THEN price / (bidder - 3) END") == [14, -25, None, None]


def test_invalid_regex_is_validation_error() -> None:
    with pytest.raises(ValidationError, match="regular expression"):
        compile_expression("REGEXP_EXTRACT(channel, '(a')", SCHEMA)
    with pytest.raises(ValidationError, match="backreferences"):
        compile_expression(r"REGEXP(channel, '(a)\1')", SCHEMA)


# ---------------------------------------------------------------- typing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("price * 0.908", "DECIMAL(23, 3)"),
        ("bidder + bidder", "INT"),
        ("bidder / 2", "INT"),
        ("price + bidder", "BIGINT"),
        ("price * 1.5e0", "DOUBLE"),
        ("bidder + 1.25", "DECIMAL(13, 2)"),
        ("MOD(price, 10)", "INT"),
        ("CHAR_LENGTH(channel)", "INT"),
        ("HOUR(date_time)", "BIGINT"),
        ("date_time - INTERVAL '4' SECOND", "TIMESTAMP(3)"),
        ("TO_TIMESTAMP_LTZ(price, 3)", "TIMESTAMP_LTZ(3)"),
        ("CURRENT_TIMESTAMP", "TIMESTAMP_LTZ(3)"),
        ("bid.meta.x", "BIGINT"),
        ("CASE WHEN price > 1 THEN bidder ELSE price END", "BIGINT"),
        ("COALESCE(price, 0.5)", "DECIMAL(20, 1)"),
    ],
)
def test_result_types(text: str, expected: str) -> None:
    assert typ(text) == expected


def test_aggregate_type_rules() -> None:
    assert str(aggregate_type("COUNT", None)) == "BIGINT NOT NULL"
    assert str(aggregate_type("SUM", parse_type("DECIMAL(10, 2)"))) == "DECIMAL(38, 2)"
    assert str(aggregate_type("MAX", parse_type("STRING"))) == "STRING"
    with pytest.raises(ValidationError, match="AVG"):
        aggregate_type("AVG", parse_type("STRING"))


# ---------------------------------------------------------------- Flink semantics


def test_q1_decimal_values() -> None:
    assert ev("price * 0.908") == [Decimal("90.800"), Decimal("227.000"), Decimal("6.356"), None]


def test_integer_division_truncates_and_mod_follows_dividend() -> None:
    assert ev("bidder / 3") == [3, -2, 1, 1]
    assert ev("MOD(bidder, 3)") == [1, -1, 0, 1]


def test_nested_fields_and_qualified_columns() -> None:
    assert ev("bid.price") == [5, None, 7, 9]
    assert ev("t.bid.price") == [5, None, 7, 9]
    assert ev("bid.meta.x") == [1, None, None, 2]


def test_three_valued_logic() -> None:
    assert ev("price > 50 OR auction IS NULL") == [True, True, False, True]
    assert ev("NOT (price > 50)") == [False, False, True, None]
    assert ev("price > 50 AND NULL") == [None, None, False, None]


def test_split_index_and_regexp_extract() -> None:
    b = pa.record_batch({"s": pa.array(["a,b,c", "a", "", None, ",x"])})
    def run(text: str) -> list:
        return compile_expression(text, b.schema).evaluate(b).to_pylist()

    assert run("SPLIT_INDEX(s, ',', 0)") == ["a", "a", None, None, ""]
    assert run("SPLIT_INDEX(s, ',', 2)") == ["c", None, None, None, None]
    assert run("SPLIT_INDEX(s, ',', -1)") == [None] * 5
    assert run("REGEXP_EXTRACT(s, '([a-z]),([a-z])', 2)") == ["b", None, None, None, None]
    assert run("REGEXP_EXTRACT(s, '[a-z]+')") == ["a", "a", None, None, "x"]
    assert run("REGEXP_EXTRACT(s, '(?<first>[a-z]),(x|b)', 2)") == ["b", None, None, None, None]


def test_java_regex_group_renaming() -> None:
    converted, groups = java_regex_to_re2(r"(a)(?:b)[(]\((c)")
    assert groups == 2
    assert converted == r"(?P<g1>a)(?:b)[(]\((?P<g2>c)"


def test_date_format_and_ltz_in_session_time_zone() -> None:
    assert ev("DATE_FORMAT(date_time, 'yyyy-MM-dd HH:mm')") == [
        "1970-01-01 00:00", "1970-01-01 01:00", None, "1970-01-01 23:59"]
    tokyo = ev("DATE_FORMAT(ltz, 'HH:mm')", session_time_zone="Asia/Tokyo")
    assert tokyo == ["09:00", "10:00", None, "08:59"]
    assert ev("HOUR(ltz)", session_time_zone="Asia/Tokyo") == [9, 10, None, 8]


def test_timestamp_literals_intervals_and_epoch() -> None:
    assert ev("date_time + INTERVAL '1:30' HOUR TO MINUTE")[0] == dt.datetime(1970, 1, 1, 1, 30)
    assert ev("TIMESTAMP '2020-01-01 10:00:00' > date_time")[:2] == [True, True]
    assert ev("UNIX_TIMESTAMP('1970-01-01 00:01:00')") == [60] * 4
    assert ev("FROM_UNIXTIME(price)")[0] == "1970-01-01 00:01:40"
    assert ev("TO_TIMESTAMP('2021-03-04 05:06:07.5')")[0] == dt.datetime(2021, 3, 4, 5, 6, 7,
                                                                          500000)
    assert ev("TO_TIMESTAMP('not a time')") == [None] * 4
    assert ev("date_time = '1970-01-01 01:00:00'") == [False, True, None, False]


def test_current_timestamp_is_per_batch_and_not_folded() -> None:
    c = compile_expression("CURRENT_TIMESTAMP", SCHEMA)
    assert not c.constant
    values = c.evaluate(BATCH).to_pylist()
    assert len(set(values)) == 1 and values[0].year >= 2024


def test_constant_folding() -> None:
    c = compile_expression("1 + 2 * 3", SCHEMA)
    assert c.constant and c.value == 7
    assert c.evaluate(BATCH).to_pylist() == [7, 7, 7, 7]


def test_cast_rules() -> None:
    assert ev("CAST(bidder > 0 AS STRING)") == ["TRUE", "FALSE", "TRUE", "TRUE"]
    assert ev("CAST(CAST(price AS DOUBLE) / 3 AS DECIMAL(6, 2))") == [
        Decimal("33.33"), Decimal("83.33"), Decimal("2.33"), None]
    assert ev("CAST('2.345' AS DECIMAL(4, 2))") == [Decimal("2.35")] * 4
    # an integer into a DECIMAL narrower than its type's range (Arrow refuses that directly)
    assert ev("CAST(price AS DECIMAL(10, 2))") == [
        Decimal("100.00"), Decimal("250.00"), Decimal("7.00"), None]
    assert ev("CAST(bidder AS DECIMAL(3, 1))") == [
        Decimal("10.0"), Decimal("-7.0"), Decimal("3.0"), Decimal("4.0")]
    assert ev("CAST(' 7 ' AS BIGINT)") == [7] * 4
    assert ev("CAST(date_time AS DATE)")[1] == dt.date(1970, 1, 1)
    assert ev("CAST('true' AS BOOLEAN)") == [True] * 4
    assert ev("CAST(channel AS VARCHAR(2))") == ["ap", "12", None, " 4"]


def test_like_escape_and_in_with_null() -> None:
    assert ev("channel LIKE '%pl%'") == [True, False, None, False]
    assert ev("bidder IN (10, NULL)") == [True, None, None, None]
    assert ev("bidder NOT IN (10, 3)") == [False, True, False, True]
