"""Planning event-time temporal joins: the plan (EXPLAIN's TemporalJoin, append-only output,
the probe's time attribute kept) and Flink's refusals (RIGHT join, AS OF a column that is no
time attribute, a condition without the primary key, an updating probe side)."""

from __future__ import annotations

import pytest

from flowsql.errors import NotSupportedError, ValidationError

QUERY = ("SELECT o.id, o.cur, o.ts, r.rate FROM orders AS o {join} rates FOR SYSTEM_TIME AS OF "
         "{as_of} AS r ON {on}")


@pytest.fixture
def tables(session, tmp_path):
    (tmp_path / "orders.csv").write_text("1,EUR,10,2024-01-01 00:00:01\n2,USD,20,2024-01-01 00:00:03\n"
                                         "3,EUR,30,2024-01-01 00:00:12\n")
    (tmp_path / "rates.csv").write_text("EUR,1.1,2024-01-01 00:00:00\nUSD,1.0,2024-01-01 00:00:02\n"
                                        "EUR,1.2,2024-01-01 00:00:05\n")
    session.execute_one(
        "CREATE TABLE orders (id INT, cur STRING, amount INT, ts TIMESTAMP(3), WATERMARK FOR ts AS "
        f"ts - INTERVAL '1' SECOND) WITH ('connector' = 'filesystem', 'path' = '{tmp_path / 'orders.csv'}', "
        "'format' = 'csv')")
    session.execute_one(
        "CREATE TABLE rates (cur STRING, rate DOUBLE, rts TIMESTAMP(3), PRIMARY KEY (cur) NOT ENFORCED, "
        "WATERMARK FOR rts AS rts - INTERVAL '1' SECOND) WITH ('connector' = 'filesystem', "
        f"'path' = '{tmp_path / 'rates.csv'}', 'format' = 'csv')")
    return session


def query(join: str = "JOIN", as_of: str = "o.ts", on: str = "o.cur = r.cur") -> str:
    return QUERY.format(join=join, as_of=as_of, on=on)


def test_explain_names_the_temporal_join(tables):
    text = tables.execute_one("EXPLAIN " + query("LEFT JOIN", on="o.cur = r.cur AND r.rate > 1")).message
    assert ("TemporalJoin(joinType=[LeftOuterJoin], where=[(cur = cur0) AND (rate > 1)], "
            "period=[ts AS OF rates.rts]") in text
    assert "4-temporal-join: append" in text or "temporal-join: append" in text


def test_the_join_runs_and_keeps_the_probe_time_attribute(tables):
    rows = tables.execute_one(query()).table.to_pylist()
    assert sorted((r["id"], r["rate"]) for r in rows) == [(1, 1.1), (2, 1.0), (3, 1.2)]
    tables.execute_one("CREATE TEMPORARY VIEW j AS " + query())
    windows = tables.execute_one(
        "SELECT window_start, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE j, DESCRIPTOR(ts), "
        "INTERVAL '10' SECOND)) GROUP BY window_start, window_end").table.to_pylist()
    assert sorted(r["n"] for r in windows) == [1, 2]


@pytest.mark.parametrize("sql, error, message", [
    (query("RIGHT JOIN"), ValidationError, "a temporal join is an INNER or LEFT join, not RIGHT"),
    (query(as_of="o.amount"), ValidationError,
     "FOR SYSTEM_TIME AS OF o.amount: a temporal join reads the version valid at a time attribute"),
    (query(on="o.amount = r.rate"), ValidationError,
     "a temporal join must join on the primary key of the versioned table rates (cur)"),
])
def test_refusals(tables, sql, error, message):
    with pytest.raises(error) as e:
        tables.execute_one(sql)
    assert message in str(e.value)


def test_an_updating_probe_side_is_refused(tables, tmp_path):
    (tmp_path / "changes.json").write_text('{"op": "c", "after": {"cur": "EUR", "ts": "2024-01-01 00:00:01"}}\n')
    tables.execute_one(
        "CREATE TABLE changes (cur STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ("
        f"'connector' = 'filesystem', 'path' = '{tmp_path / 'changes.json'}', 'format' = 'debezium-json')")
    with pytest.raises(NotSupportedError, match="temporal join whose probe side"):
        tables.execute_one("SELECT o.cur, r.rate FROM changes AS o JOIN rates FOR SYSTEM_TIME AS OF "
                           "o.ts AS r ON o.cur = r.cur")


def test_a_versioned_view_and_a_view_that_is_not_one(tables):
    tables.execute_one(
        "CREATE TEMPORARY VIEW last_rates AS SELECT cur AS c, rate, rts FROM (SELECT *, ROW_NUMBER() "
        "OVER (PARTITION BY cur ORDER BY rts DESC) AS rn FROM rates) WHERE rn = 1")
    sql = ("SELECT o.id, r.rate FROM orders AS o JOIN last_rates FOR SYSTEM_TIME AS OF o.ts AS r "
           "ON o.cur = r.c")
    assert "period=[ts AS OF last_rates.rts], versions=[LastRowPerKey]" in tables.execute_one(
        "EXPLAIN " + sql).message
    assert sorted(r["rate"] for r in tables.execute_one(sql).table.to_pylist()) == [1.0, 1.1, 1.2]
    tables.execute_one("CREATE TEMPORARY VIEW plain AS SELECT cur, rate, rts FROM rates")
    with pytest.raises(ValidationError, match="the view plain keeps no last row per key"):
        tables.execute_one("SELECT o.id FROM orders AS o JOIN plain FOR SYSTEM_TIME AS OF o.ts AS r "
                           "ON o.cur = r.cur")
