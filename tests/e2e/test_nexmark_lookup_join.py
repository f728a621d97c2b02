"""Nexmark q13 (a lookup join of bids with a side-input file, FOR SYSTEM_TIME AS OF a
PROCTIME() attribute) on the ``nexmark`` connector: streaming results at parallelism 1 and 2
equal batch mode's, which runs the lookup join as a plain join (as Flink's batch mode does).
A LEFT lookup join pads missing keys with NULLs; planning errors for what is not a lookup
join."""

from __future__ import annotations

import pytest
from harness import Differential
from nexmark_tables import DDL, VIEW

from flowsql.errors import NotSupportedError, ValidationError

Q13 = ("SELECT B.auction, B.bidder, B.price, B.dateTime, S.`value` "
       "FROM (SELECT *, PROCTIME() AS p_time FROM bid) B "
       "JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S ON MOD(B.auction, 10000) = S.key")
LEFT = ("SELECT B.auction, B.price, S.key, S.`value` "
        "FROM (SELECT *, PROCTIME() AS p_time FROM bid) B "
        "LEFT JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S "
        "ON MOD(B.auction, 10000) = S.key AND S.`value` <> 'v4'")


def _setup(d: Differential, parallelism: int) -> None:
    side = d.root / "side_input.txt"
    side.write_text("".join(f"{k},v{k % 7}\n" for k in range(1000, 1400, 2)))  # even keys only
    d.execute(DDL)
    d.execute(VIEW)
    # the legacy options q13 is written with (mapped to today's)
    d.execute("CREATE TABLE side_input (key BIGINT, `value` VARCHAR) WITH ('connector.type' = "
              f"'filesystem', 'connector.path' = 'file://{side}', 'format.type' = 'csv')")
    d.execute(f"SET 'parallelism.default' = '{parallelism}'")
    d.execute("SET 'execution.embedded.parallelism' = 'threads'")
    d.execute("SET 'table.exec.mini-batch.size' = '500'")


@pytest.mark.parametrize("parallelism", [1, 2])
def test_q13_streaming_equals_batch(parallelism):
    with Differential() as d:
        _setup(d, parallelism)
        assert "LookupJoin(" in d.execute("EXPLAIN " + Q13).message
        result = d.check(Q13)
        assert result.num_rows > 0


@pytest.mark.parametrize("parallelism", [1, 2])
def test_left_lookup_join_pads_missing_keys_with_nulls(parallelism):
    with Differential() as d:
        _setup(d, parallelism)
        result = d.check(LEFT)
        keys = result.column("key").to_pylist()
        assert None in keys and any(k is not None for k in keys)
        assert "v4" not in result.column("value").to_pylist()


def test_what_is_not_a_lookup_join_is_refused():
    with Differential() as d:
        _setup(d, 1)
        d.execute("CREATE TABLE rates (currency STRING, rate BIGINT, ts TIMESTAMP(3), PRIMARY KEY "
                  "(currency) NOT ENFORCED, WATERMARK FOR ts AS ts) WITH ('connector' = 'filesystem', "
                  f"'path' = '{d.root}/side_input.txt', 'format' = 'csv')")
        # AS OF a rowtime against a versioned table: an event-time temporal join, not a lookup
        assert "TemporalJoin(" in d.execute(
            "EXPLAIN SELECT * FROM bid AS b JOIN rates FOR SYSTEM_TIME AS OF b.dateTime AS r "
            "ON b.channel = r.currency").message
        with pytest.raises(ValidationError, match="versioned table"):
            d.execute("SELECT * FROM bid AS b JOIN side_input FOR SYSTEM_TIME AS OF b.dateTime AS s "
                      "ON b.auction = s.key")
        with pytest.raises(NotSupportedError, match="connector 'nexmark' cannot look keys up"):
            d.execute("SELECT * FROM (SELECT *, PROCTIME() AS p FROM bid) b JOIN datagen FOR "
                      "SYSTEM_TIME AS OF b.p AS g ON b.auction = g.event_type")
        with pytest.raises(ValidationError, match="INNER or LEFT"):
            d.execute(Q13.replace("JOIN side_input", "RIGHT JOIN side_input"))
        with pytest.raises(ValidationError, match="equality condition"):
            d.execute(Q13.replace("MOD(B.auction, 10000) = S.key", "B.auction > S.key"))


@pytest.mark.parametrize("form", ["cte", "view"])
def test_proctime_attribute_through_a_cte_or_a_view(form):
    with Differential() as d:
        _setup(d, 1)
        lookup = ("SELECT B.auction, S.`value` FROM {} AS B JOIN side_input FOR SYSTEM_TIME AS OF "
                  "B.p AS S ON MOD(B.auction, 10000) = S.key")
        if form == "view":
            d.execute("CREATE VIEW pb AS SELECT auction, PROCTIME() AS p FROM bid")
            query = lookup.format("pb")
        else:
            query = "WITH pb AS (SELECT auction, PROCTIME() AS p FROM bid) " + lookup.format("pb")
        assert d.check(query).num_rows > 0


def test_proctime_computed_column_is_a_lookup_attribute():
    with Differential() as d:
        _setup(d, 1)
        orders = d.root / "orders.csv"
        orders.write_text("".join(f"{i},{1000 + i % 30}\n" for i in range(200)) + "200,\n")
        d.execute("CREATE TABLE orders (id BIGINT, item BIGINT, p AS PROCTIME()) WITH ("
                  f"'connector' = 'filesystem', 'path' = '{orders}', 'format' = 'csv')")
        result = d.check("SELECT o.id, s.`value` FROM orders AS o LEFT JOIN side_input FOR "
                         "SYSTEM_TIME AS OF o.p AS s ON o.item = s.key")
        assert result.num_rows == 201
