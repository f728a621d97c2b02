"""The flink sqlglot dialect: queries round-trip, Flink spellings survive, TVF structure."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

import flowsql.sql.dialect  # noqa: F401
from flowsql.sql.expressions import Descriptor, WindowTVF

QUERIES = [
    # window TVFs, positional and named, with alias / partition / offset / subquery / join
    "SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '10' SECOND))",
    "SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '1' SECOND)) AS w",
    "SELECT * FROM TABLE(HOP(TABLE bid, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' SECOND))",
    "SELECT * FROM TABLE(CUMULATE(TABLE bid, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '10' MINUTE))",
    "SELECT * FROM TABLE(SESSION(TABLE bid PARTITION BY bidder, DESCRIPTOR(ts), INTERVAL '5' MINUTE))",
    "SELECT * FROM TABLE(SESSION(TABLE bid PARTITION BY (bidder, auction), DESCRIPTOR(ts), INTERVAL '5' MINUTE))",
    "SELECT * FROM TABLE(TUMBLE(DATA => TABLE bid, TIMECOL => DESCRIPTOR(ts), SIZE => INTERVAL '10' SECOND))",
    "SELECT * FROM TABLE(HOP(DATA => TABLE bid, TIMECOL => DESCRIPTOR(ts), SLIDE => INTERVAL '2' SECOND, SIZE => INTERVAL '10' SECOND))",
    "SELECT * FROM TABLE(TUMBLE((SELECT * FROM bid WHERE price > 1), DESCRIPTOR(ts), INTERVAL '1' HOUR)) AS w",
    "SELECT a.window_start FROM TABLE(TUMBLE(TABLE l, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) AS a "
    "JOIN TABLE(TUMBLE(TABLE r, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) AS b ON a.window_start = b.window_start",
    "SELECT window_start, window_end, COUNT(*) FROM TABLE(TUMBLE(TABLE cat1.db1.bid, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end",
    # legacy group windows
    "SELECT TUMBLE_START(ts, INTERVAL '1' HOUR), TUMBLE_END(ts, INTERVAL '1' HOUR), TUMBLE_ROWTIME(ts, INTERVAL '1' HOUR), COUNT(*) FROM t GROUP BY TUMBLE(ts, INTERVAL '1' HOUR)",
    "SELECT HOP_START(ts, INTERVAL '1' MINUTE, INTERVAL '1' HOUR), HOP_END(ts, INTERVAL '1' MINUTE, INTERVAL '1' HOUR) FROM t GROUP BY HOP(ts, INTERVAL '1' MINUTE, INTERVAL '1' HOUR), k",
    "SELECT SESSION_START(ts, INTERVAL '10' SECOND), SESSION_ROWTIME(ts, INTERVAL '10' SECOND) FROM t GROUP BY SESSION(ts, INTERVAL '10' SECOND)",
    # intervals
    "SELECT ts - INTERVAL '10' SECOND, ts + INTERVAL '5' MINUTE, ts - INTERVAL '1' HOUR, ts + INTERVAL '2' DAY FROM t",
    "SELECT ts + INTERVAL '1:30' MINUTE TO SECOND FROM t",
    # temporal join
    "SELECT * FROM orders AS o JOIN rates FOR SYSTEM_TIME AS OF o.proc_time AS r ON o.currency = r.currency",
    "SELECT * FROM orders AS o LEFT JOIN rates FOR SYSTEM_TIME AS OF o.proc_time ON o.currency = rates.currency",
    # FILTER, OVER, nested fields
    "SELECT COUNT(*) FILTER(WHERE price > 10), COUNT(DISTINCT bidder) FILTER(WHERE price < 5) FROM bid",
    "SELECT ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rn FROM bid",
    "SELECT bid.price, t.bid.price, t.bid.inner_row.x FROM t",
    # CASE / CAST / TRY_CAST and types
    "SELECT CASE WHEN a = 1 THEN 'x' WHEN a = 2 THEN 'y' ELSE 'z' END, CASE a WHEN 1 THEN 2 END FROM t",
    "SELECT CAST(a AS STRING), TRY_CAST(b AS BIGINT), CAST(c AS DECIMAL(10, 2)), CAST(d AS TIMESTAMP(3)) FROM t",
    "SELECT CAST(a AS TIMESTAMP_LTZ(3)), CAST(a AS BYTES), CAST(a AS VARBINARY(4)), CAST(a AS VARCHAR(10)) FROM t",
    "SELECT CAST(a AS ROW<x INT, y STRING>), CAST(b AS ARRAY<BIGINT>), CAST(c AS MAP<STRING, ARRAY<INT>>) FROM t",
    # literals, operators, set operations, CTEs, VALUES
    "SELECT a || b, 'it''s', 'a\\d+', `weird col`, -1.5, TRUE, NULL FROM `my table`",
    "SELECT a FROM t WHERE s LIKE 'a%' AND b IS NOT NULL AND c IN (1, 2) AND d BETWEEN 1 AND 2",
    "SELECT a FROM t UNION ALL SELECT b FROM u",
    "WITH c AS (SELECT 1 AS x) SELECT x FROM c",
    "VALUES (1, 'a'), (2, 'b')",
    "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS t(x, y)",
    "SELECT ARRAY[1, 2, 3], MAP['a', 1], arr[1], ROW(1, 'x') FROM t",
    "SELECT CURRENT_TIMESTAMP, CURRENT_DATE, LOCALTIMESTAMP, PROCTIME() FROM t",
    "SELECT a, COUNT(*) FROM t GROUP BY a HAVING COUNT(*) > 1 ORDER BY a LIMIT 10",
    # query hints
    "SELECT /*+ STATE_TTL('t' = '1h') */ k, COUNT(*) FROM t GROUP BY k",
    "SELECT /*+ STATE_TTL('o' = '3d', 'l' = '1d'), BROADCAST(o) */ * FROM orders AS o JOIN lineitem AS l ON o.k = l.k",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_query_round_trips(sql):
    tree = sqlglot.parse_one(sql, read="flink")
    out = tree.sql(dialect="flink")
    assert sqlglot.parse_one(out, read="flink") == tree, out


FLINK_FUNCTIONS = [
    "DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm')",
    "TO_TIMESTAMP_LTZ(n, 3)",
    "TO_TIMESTAMP(s, 'yyyy-MM-dd')",
    "SPLIT_INDEX(url, '/', 3)",
    "REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)",
    "REGEXP_EXTRACT(s, 'a(b)')",
    "REGEXP_REPLACE(s, 'a', 'b')",
    "CHAR_LENGTH(s)",
    "CHARACTER_LENGTH(s)",
    "UNIX_TIMESTAMP(s, 'yyyy')",
    "FROM_UNIXTIME(n)",
    "IF(a > 1, 'x', 'y')",
    "IFNULL(a, b)",
    "MOD(a, 7)",
    "LOG10(x)",
    "LOG(2, x)",
    "DAYOFMONTH(ts)",
    "HOUR(ts)",
    "TIMESTAMPADD(DAY, 1, ts)",
    "TIMESTAMPDIFF(DAY, a, b)",
    "CONCAT(a, b, c)",
    "CONCAT_WS('-', a, b)",
    "SUBSTRING(s FROM 1 FOR 2)",
    "SUBSTRING(s FROM 3)",
    "TRIM(BOTH 'x' FROM s)",
    "TRIM(LEADING FROM s)",
    "TRIM(s)",
    "POSITION('a' IN s)",
    "OVERLAY(s PLACING 'x' FROM 2)",
    "SUBSTR(s, 2)",
    "LOCATE('a', s)",
    "LOCATE('a', s, 2)",
    "TRUNCATE(x, 2)",
    "APPROX_COUNT_DISTINCT(a)",
    "LISTAGG(s, ',')",
    "FIRST_VALUE(x)",
    "TO_BASE64(s)",
    "UPPER(s)",
    "LOWER(s)",
    "COALESCE(a, b)",
    "ABS(x)",
    "ROUND(x, 2)",
    "EXTRACT(YEAR FROM ts)",
    "CURRENT_WATERMARK(ts)",
    "JSON_VALUE(j, '$.a')",
    "JSON_VALUE(j, 'strict $.a' RETURNING INT DEFAULT 0 ON EMPTY ERROR ON ERROR)",
    "JSON_QUERY(j, '$.a' WITH CONDITIONAL ARRAY WRAPPER EMPTY ARRAY ON EMPTY NULL ON ERROR)",
    "JSON_QUERY(j, '$.a' WITHOUT ARRAY WRAPPER)",
    "JSON_EXISTS(j, '$.a' UNKNOWN ON ERROR)",
    "JSON_OBJECT(KEY 'k' VALUE a > 1, KEY 'n' VALUE JSON_ARRAY(a, b NULL ON NULL) ABSENT ON NULL)",
    "JSON_ARRAY()",
    "JSON_STRING(a)",
    "j IS JSON OBJECT",
]


@pytest.mark.parametrize("call", FLINK_FUNCTIONS)
def test_flink_function_keeps_its_spelling(call):
    sql = f"SELECT {call} FROM t"
    assert sqlglot.parse_one(sql, read="flink").sql(dialect="flink") == sql


def test_window_tvf_node_shape():
    tree = sqlglot.parse_one(
        "SELECT * FROM TABLE(HOP(DATA => TABLE bid, TIMECOL => DESCRIPTOR(ts), "
        "SLIDE => INTERVAL '2' SECOND, SIZE => INTERVAL '10' SECOND)) AS w",
        read="flink",
    )
    tvf = tree.args["from_"].this
    assert isinstance(tvf, WindowTVF)
    assert tvf.kind == "HOP"
    assert tvf.args["table"].name == "bid"
    assert isinstance(tvf.args["time_col"], exp.Column) and tvf.args["time_col"].name == "ts"
    assert [i.this.name for i in tvf.args["intervals"]] == ["2", "10"]
    assert tvf.alias_or_name == "w"
    positional = sqlglot.parse_one(
        "SELECT * FROM TABLE(HOP(TABLE bid, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' SECOND)) AS w",
        read="flink",
    )
    assert positional == tree


def test_session_partition_and_join_placement():
    tree = sqlglot.parse_one(
        "SELECT * FROM a JOIN TABLE(SESSION(TABLE bid PARTITION BY bidder, DESCRIPTOR(ts), "
        "INTERVAL '5' MINUTE)) AS s ON a.k = s.bidder",
        read="flink",
    )
    join_tvf = tree.args["joins"][0].this
    assert isinstance(join_tvf, WindowTVF)
    assert [c.name for c in join_tvf.args["partition_by"]] == ["bidder"]


def test_descriptor_outside_window_tvf():
    tree = sqlglot.parse_one("SELECT my_fn(DESCRIPTOR(a, b))", read="flink")
    assert isinstance(tree.find(Descriptor), Descriptor)
    assert tree.sql(dialect="flink") == "SELECT MY_FN(DESCRIPTOR(a, b))"


def test_strings_use_quote_doubling_not_backslash():
    tree = sqlglot.parse_one("SELECT 'it''s', 'a\\d'", read="flink")
    assert [e.this for e in tree.expressions] == ["it's", "a\\d"]


def test_temporal_join_is_a_version_on_the_table():
    tree = sqlglot.parse_one(
        "SELECT * FROM o JOIN r FOR SYSTEM_TIME AS OF o.pt AS x ON o.k = x.k", read="flink"
    )
    table = tree.args["joins"][0].this
    assert isinstance(table.args["version"], exp.Version)
    assert table.alias == "x"


def test_state_ttl_hint_is_a_hint_on_the_select():
    tree = sqlglot.parse_one("SELECT /*+ STATE_TTL('t' = '1h', u = '2 d') */ k FROM t", read="flink")
    (hint,) = tree.args["hint"].expressions
    assert hint.name == "STATE_TTL"
    pairs = [(p.this.name, p.expression.this) for p in hint.expressions]
    assert pairs == [("t", "1h"), ("u", "2 d")]


def test_a_second_hint_block_is_an_error_not_dropped():
    from flowsql.errors import SqlParseError
    from flowsql.sql.parser import parse_query

    with pytest.raises(SqlParseError, match="one hint block") as e:
        parse_query("SELECT /*+ STATE_TTL('t' = '1h') */ /*+ STATE_TTL('t' = '2h') */ k FROM t")
    assert e.value.col == 8
    # a plain comment after the hint block is still a comment
    tree = parse_query("SELECT /*+ STATE_TTL('t' = '1h') */ /* note */ k FROM t")
    assert tree.args["hint"] is not None
