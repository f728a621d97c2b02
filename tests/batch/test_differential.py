"""Differential tests: Flink SQL through the batch Session vs hand-written DuckDB SQL.

Each test runs a Flink query in batch mode over random files (see conftest) and compares it,
as a sorted multiset of rows, with a DuckDB query written by hand over the same Parquet file.
"""

from __future__ import annotations

import pytest


def test_filter_projection_parquet(same):
    same(
        "SELECT id, k, v, price FROM bids WHERE v > 10 AND price IS NOT NULL",
        "SELECT id, k, v, price FROM {bids} WHERE v > 10 AND price IS NOT NULL",
    )


@pytest.mark.parametrize("table", ["bids_csv", "bids_json"])
def test_filter_projection_csv_json(same, table):
    same(
        f"SELECT id, k, v, price, tags, ts FROM {table} WHERE k <> 'key_03' OR v IS NULL",
        "SELECT id, k, v, price, tags, ts FROM {bids} WHERE k <> 'key_03' OR v IS NULL",
    )


def test_group_by_aggregates(same):
    same(
        "SELECT k, COUNT(*) AS c, COUNT(v) AS cv, SUM(v) AS s, AVG(price) AS a, MIN(ts) AS lo, "
        "MAX(price) AS hi FROM bids GROUP BY k",
        "SELECT k, count(*), count(v), sum(v), avg(price), min(ts), max(price) FROM {bids} GROUP BY k",
    )


def test_count_distinct_and_filter(same):
    same(
        "SELECT k, COUNT(DISTINCT v) AS dv, COUNT(*) FILTER (WHERE price > 50) AS big, "
        "SUM(v) FILTER (WHERE v < 0) AS neg FROM bids GROUP BY k HAVING COUNT(*) > 5",
        "SELECT k, count(DISTINCT v), count(*) FILTER (WHERE price > 50), "
        "sum(v) FILTER (WHERE v < 0) FROM {bids} GROUP BY k HAVING count(*) > 5",
    )


def test_tumble_tvf(same):
    table = same(
        "SELECT window_start, window_end, COUNT(*) AS c, MAX(price) AS p FROM TABLE("
        "TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end",
        "SELECT time_bucket(INTERVAL 10 SECOND, ts) AS ws, time_bucket(INTERVAL 10 SECOND, ts) "
        "+ INTERVAL 10 SECOND, count(*), max(price) FROM {bids} WHERE ts IS NOT NULL GROUP BY ws",
    )
    assert str(table.schema.field("window_start").type) == "timestamp[ms]"


def test_tumble_tvf_window_time_and_keys(same):
    same(
        "SELECT k, window_time, SUM(v) AS s FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), "
        "INTERVAL '30' SECOND)) GROUP BY k, window_start, window_end, window_time",
        "SELECT k, time_bucket(INTERVAL 30 SECOND, ts) + INTERVAL 30 SECOND - INTERVAL 1 MILLISECOND, "
        "sum(v) FROM {bids} WHERE ts IS NOT NULL GROUP BY k, time_bucket(INTERVAL 30 SECOND, ts)",
    )


def test_hop_tvf(same):
    same(
        "SELECT window_start, window_end, COUNT(*) AS c, SUM(v) AS s FROM TABLE(HOP(TABLE bids, "
        "DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '15' SECOND)) GROUP BY window_start, window_end",
        "SELECT ws, ws + INTERVAL 15 SECOND, count(*), sum(v) FROM (SELECT *, unnest(generate_series("
        "time_bucket(INTERVAL 5 SECOND, ts) - INTERVAL 10 SECOND, time_bucket(INTERVAL 5 SECOND, ts), "
        "INTERVAL 5 SECOND)) AS ws FROM {bids} WHERE ts IS NOT NULL) GROUP BY ws",
    )


def test_cumulate_tvf(same):
    same(
        "SELECT window_start, window_end, COUNT(*) AS c, MAX(v) AS m FROM TABLE(CUMULATE(TABLE bids, "
        "DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND)) GROUP BY window_start, window_end",
        "SELECT ws, we, count(*), max(v) FROM (SELECT *, time_bucket(INTERVAL 20 SECOND, ts) AS ws, "
        "unnest(generate_series(time_bucket(INTERVAL 20 SECOND, ts) + INTERVAL 5 SECOND, "
        "time_bucket(INTERVAL 20 SECOND, ts) + INTERVAL 20 SECOND, INTERVAL 5 SECOND)) AS we "
        "FROM {bids} WHERE ts IS NOT NULL) WHERE we > ts GROUP BY ws, we",
    )


_SESSION_ORACLE = """
WITH b AS (SELECT * FROM {{bids}} WHERE ts IS NOT NULL),
starts AS (
  SELECT DISTINCT {key1} b1.ts AS s FROM b AS b1 WHERE NOT EXISTS (
    SELECT 1 FROM b AS b2 WHERE b2.ts < b1.ts AND b2.ts >= b1.ts - INTERVAL {gap} MILLISECOND {same})),
assigned AS (
  SELECT b.*, (SELECT max(s) FROM starts WHERE s <= b.ts {same_start}) AS ws FROM b)
SELECT {key2} ws, max(ts) + INTERVAL {gap} MILLISECOND, count(*), sum(v)
FROM assigned GROUP BY {key2} ws
"""


def test_session_tvf(same):
    duck = _SESSION_ORACLE.format(key1="", key2="", gap=600, same="", same_start="")
    same(
        "SELECT window_start, window_end, COUNT(*) AS c, SUM(v) AS s FROM TABLE(SESSION(TABLE bids, "
        "DESCRIPTOR(ts), INTERVAL '0.6' SECOND)) GROUP BY window_start, window_end",
        duck,
    )


def test_session_tvf_partitioned(same):
    duck = _SESSION_ORACLE.format(
        key1="b1.k,", key2="k,", gap=5000, same="AND b2.k = b1.k", same_start="AND starts.k = b.k"
    )
    same(
        "SELECT k, window_start, window_end, COUNT(*) AS c, SUM(v) AS s FROM TABLE(SESSION(TABLE bids "
        "PARTITION BY k, DESCRIPTOR(ts), INTERVAL '5' SECOND)) GROUP BY k, window_start, window_end",
        duck,
    )


def test_legacy_group_by_tumble(same):
    same(
        "SELECT k, TUMBLE_START(ts, INTERVAL '30' SECOND) AS ws, TUMBLE_END(ts, INTERVAL '30' SECOND) "
        "AS we, COUNT(*) AS c, SUM(v) AS s FROM bids GROUP BY k, TUMBLE(ts, INTERVAL '30' SECOND)",
        "SELECT k, time_bucket(INTERVAL 30 SECOND, ts) AS ws, ws + INTERVAL 30 SECOND, count(*), sum(v) "
        "FROM {bids} WHERE ts IS NOT NULL GROUP BY k, ws",
    )


def test_inner_join(same):
    same(
        "SELECT b.id, b.k, kk.region, b.v * kk.weight AS score FROM bids AS b "
        "JOIN keys AS kk ON b.k = kk.k WHERE kk.weight > 3",
        "SELECT b.id, b.k, kk.region, b.v * kk.weight FROM {bids} AS b JOIN {keys} AS kk "
        "ON b.k = kk.k WHERE kk.weight > 3",
    )


def test_left_join_group(same):
    same(
        "SELECT COALESCE(kk.region, 'none') AS region, COUNT(*) AS c FROM bids b "
        "LEFT JOIN keys kk ON b.k = kk.k GROUP BY COALESCE(kk.region, 'none')",
        "SELECT coalesce(kk.region, 'none'), count(*) FROM {bids} b LEFT JOIN {keys} kk "
        "ON b.k = kk.k GROUP BY 1",
    )


def test_view_and_view_over_view(bsession, same):
    bsession.execute_one("CREATE VIEW rich AS SELECT id, k, price FROM bids WHERE price > 40")
    bsession.execute_one(
        "CREATE VIEW rich_by_key AS SELECT k, COUNT(*) AS c, MAX(price) AS top FROM rich GROUP BY k"
    )
    same(
        "SELECT r.k, r.c, r.top, kk.region FROM rich_by_key r LEFT JOIN keys kk ON r.k = kk.k "
        "WHERE r.c >= 2",
        "SELECT r.k, r.c, r.top, kk.region FROM (SELECT k, count(*) AS c, max(price) AS top FROM "
        "{bids} WHERE price > 40 GROUP BY k) r LEFT JOIN {keys} kk ON r.k = kk.k WHERE r.c >= 2",
    )


def test_computed_column(same):
    same(
        "SELECT id, v2, v2 + v AS v3 FROM bids WHERE v2 > 20",
        "SELECT id, v * 2, v * 3 FROM {bids} WHERE v * 2 > 20",
    )


def test_date_format_and_time_parts(same):
    same(
        "SELECT id, DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss') AS f, DATE_FORMAT(ts, 'HH:mm:ss.SSS') AS g, "
        "HOUR(ts) AS h, MINUTE(ts) AS mi, SECOND(ts) AS s, EXTRACT(YEAR FROM ts) AS y FROM bids",
        "SELECT id, strftime(ts, '%Y-%m-%d %H:%M:%S'), strftime(ts, '%H:%M:%S.%g'), hour(ts), "
        "minute(ts), second(ts), year(ts) FROM {bids}",
    )


def test_split_index(same):
    same(
        "SELECT id, SPLIT_INDEX(tags, ',', 0) AS first_tag, SPLIT_INDEX(tags, ',', 2) AS third, "
        "SPLIT_INDEX(tags, ',', 9) AS none FROM bids",
        "SELECT id, string_split(tags, ',')[1], string_split(tags, ',')[3], NULL FROM {bids}",
    )


def test_regexp_extract(same):
    same(
        "SELECT id, REGEXP_EXTRACT(url, 'user=(U[0-9]+)', 1) AS u, "
        "REGEXP_EXTRACT(url, 'item=I([0-9])', 1) AS i FROM bids",
        "SELECT id, CASE WHEN regexp_matches(url, 'user=(U[0-9]+)') THEN "
        "regexp_extract(url, 'user=(U[0-9]+)', 1) END, CASE WHEN regexp_matches(url, 'item=I([0-9])') "
        "THEN regexp_extract(url, 'item=I([0-9])', 1) END FROM {bids}",
    )


def test_case_cast_if(same):
    same(
        "SELECT id, CASE WHEN v > 20 THEN 'high' WHEN v IS NULL THEN 'none' ELSE 'low' END AS c, "
        "CAST(id AS STRING) AS sid, CAST(v AS DOUBLE) / 2 AS half, IF(price > 50, 1, 0) AS big, "
        "TRY_CAST(k AS INT) AS bad FROM bids",
        "SELECT id, CASE WHEN v > 20 THEN 'high' WHEN v IS NULL THEN 'none' ELSE 'low' END, "
        "CAST(id AS VARCHAR), CAST(v AS DOUBLE) / 2, CASE WHEN price > 50 THEN 1 ELSE 0 END, "
        "CAST(NULL AS INT) FROM {bids}",
    )


def test_string_functions(same):
    same(
        "SELECT id, UPPER(k) AS u, LOWER('ABC') AS l, CHAR_LENGTH(tags) AS n, SUBSTRING(k, 5, 2) AS s, "
        "CONCAT(k, '-', tags) AS c, CONCAT_WS('|', k, CAST(v AS STRING)) AS w, MOD(id, 7) AS m "
        "FROM bids",
        "SELECT id, upper(k), 'abc', length(tags), substring(k, 5, 2), k || '-' || tags, "
        "concat_ws('|', k, CAST(v AS VARCHAR)), id % 7 FROM {bids}",
    )


def test_null_semantics(same):
    same(
        "SELECT id, v IS DISTINCT FROM 3 AS d, v IS NOT DISTINCT FROM NULL AS n, "
        "COALESCE(v, -1) AS c, CONCAT(k, CAST(v AS STRING)) AS cc FROM bids",
        "SELECT id, v IS DISTINCT FROM 3, v IS NULL, coalesce(v, -1), k || CAST(v AS VARCHAR) FROM {bids}",
    )


def test_unix_time_functions(same):
    same(
        "SELECT id, TO_TIMESTAMP_LTZ(id * 1000, 3) AS t3, TO_TIMESTAMP_LTZ(id, 0) AS t0, "
        "FROM_UNIXTIME(id) AS f, UNIX_TIMESTAMP('2024-01-01 00:00:10') AS u, "
        "TO_TIMESTAMP('2024-03-01 10:00:00') AS p FROM bids",
        "SELECT id, epoch_ms(id * 1000), epoch_ms(id * 1000), strftime(to_timestamp(id), "
        "'%Y-%m-%d %H:%M:%S'), 1704067210, TIMESTAMP '2024-03-01 10:00:00' FROM {bids}",
    )


def test_union_all(same):
    same(
        "SELECT k, v FROM bids WHERE v > 40 UNION ALL SELECT k, weight FROM keys "
        "UNION ALL SELECT k, v FROM bids_csv WHERE v < 0",
        "SELECT k, v FROM {bids} WHERE v > 40 UNION ALL SELECT k, weight FROM {keys} "
        "UNION ALL SELECT k, v FROM {bids} WHERE v < 0",
    )


def test_order_by_limit(same):
    same(
        "SELECT id, price FROM bids WHERE price IS NOT NULL ORDER BY price DESC, id LIMIT 7",
        "SELECT id, price FROM {bids} WHERE price IS NOT NULL ORDER BY price DESC, id LIMIT 7",
        ordered=True,
    )


def test_with_and_subqueries(same):
    same(
        "WITH top AS (SELECT k FROM keys WHERE weight >= 10) SELECT k, COUNT(*) AS c FROM bids "
        "WHERE k IN (SELECT k FROM top) AND v > (SELECT AVG(v) FROM bids) GROUP BY k",
        "WITH top AS (SELECT k FROM {keys} WHERE weight >= 10) SELECT k, count(*) FROM {bids} "
        "WHERE k IN (SELECT k FROM top) AND v > (SELECT avg(v) FROM {bids}) GROUP BY k",
    )


def test_row_number_top_n(same):
    same(
        "SELECT k, id, price FROM (SELECT k, id, price, ROW_NUMBER() OVER (PARTITION BY k "
        "ORDER BY price DESC, id) AS rn FROM bids WHERE price IS NOT NULL) WHERE rn <= 2",
        "SELECT k, id, price FROM (SELECT k, id, price, row_number() OVER (PARTITION BY k "
        "ORDER BY price DESC, id) AS rn FROM {bids} WHERE price IS NOT NULL) WHERE rn <= 2",
    )


def test_window_over_view_and_csv(bsession, same):
    bsession.execute_one("CREATE VIEW recent AS SELECT k, v, ts FROM bids_csv WHERE v IS NOT NULL")
    same(
        "SELECT k, window_start, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE recent, DESCRIPTOR(ts), "
        "INTERVAL '1' MINUTE)) GROUP BY k, window_start, window_end",
        "SELECT k, time_bucket(INTERVAL 1 MINUTE, ts), count(*) FROM {bids} WHERE v IS NOT NULL "
        "AND ts IS NOT NULL GROUP BY ALL",
    )


def test_insert_into_filesystem_then_read_back(bsession, same, oracle_rows, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    bsession.execute_one(
        "CREATE TABLE agg (k STRING, c BIGINT, s BIGINT) WITH ('connector' = 'filesystem', "
        f"'path' = '{out}', 'format' = 'parquet')"
    )
    result = bsession.execute_one("INSERT INTO agg SELECT k, COUNT(*), SUM(v) FROM bids GROUP BY k")
    expected = oracle_rows("SELECT k, count(*), sum(v) FROM {bids} GROUP BY k")
    assert result.kind == "ok"
    assert result.extra["rows_written"] == len(expected)
    assert f"Inserted {len(expected)} rows into `agg`" in result.message
    same("SELECT * FROM agg", "SELECT k, count(*), sum(v) FROM {bids} GROUP BY k")


def test_statement_set_insert_columns(bsession, same, oracle_rows, to_rows, tmp_path):
    for name, fmt in (("o1", "csv"), ("o2", "json")):
        (tmp_path / name).mkdir()
        bsession.execute_one(
            f"CREATE TABLE {name} (id BIGINT, k STRING, note STRING) WITH ('connector' = 'filesystem', "
            f"'path' = '{tmp_path / name}', 'format' = '{fmt}')"
        )
    result = bsession.execute_one(
        "EXECUTE STATEMENT SET BEGIN "
        "INSERT INTO o1 SELECT id, k, 'x' FROM bids WHERE v > 30; "
        "INSERT INTO o2 (k, id) SELECT k, id FROM bids WHERE v < 0; END"
    )
    assert result.kind == "ok"
    same("SELECT * FROM o1", "SELECT id, k, 'x' FROM {bids} WHERE v > 30")
    got = to_rows(bsession.execute_one("SELECT id, k, note FROM o2").table)
    expected = oracle_rows("SELECT id, k, NULL FROM {bids} WHERE v < 0")
    assert sorted(got) == sorted(expected) and got


def test_datagen_sequence(bsession, same):
    bsession.execute_one(
        "CREATE TABLE gen (id BIGINT, x INT) WITH ('connector' = 'datagen', 'number-of-rows' = '100', "
        "'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100', "
        "'fields.x.min' = '0', 'fields.x.max' = '9')"
    )
    same(
        "SELECT COUNT(*) AS c, SUM(id) AS s, MIN(id) AS lo, MAX(id) AS hi, COUNT(DISTINCT id) AS d "
        "FROM gen WHERE x BETWEEN 0 AND 9",
        "SELECT count(*), sum(i), min(i), max(i), count(DISTINCT i) FROM range(1, 101) t(i)",
    )


def test_tumble_unaligned_size_with_offset(same):
    start = "epoch_ms(epoch_ms(ts) - (((epoch_ms(ts) - 2000) % 7000) + 7000) % 7000)"
    same(
        "SELECT window_start, window_end, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), "
        "INTERVAL '7' SECOND, INTERVAL '2' SECOND)) GROUP BY window_start, window_end",
        f"SELECT {start} AS ws, ws + INTERVAL 7 SECOND, count(*) FROM {{bids}} WHERE ts IS NOT NULL "
        "GROUP BY ws",
    )


def test_legacy_group_by_hop(same):
    same(
        "SELECT HOP_START(ts, INTERVAL '5' SECOND, INTERVAL '15' SECOND) AS ws, "
        "HOP_END(ts, INTERVAL '5' SECOND, INTERVAL '15' SECOND) AS we, COUNT(*) AS c FROM bids "
        "GROUP BY HOP(ts, INTERVAL '5' SECOND, INTERVAL '15' SECOND)",
        "SELECT ws, ws + INTERVAL 15 SECOND, count(*) FROM (SELECT *, unnest(generate_series("
        "time_bucket(INTERVAL 5 SECOND, ts) - INTERVAL 10 SECOND, time_bucket(INTERVAL 5 SECOND, ts), "
        "INTERVAL 5 SECOND)) AS ws FROM {bids} WHERE ts IS NOT NULL) GROUP BY ws",
    )

