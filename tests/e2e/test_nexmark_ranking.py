"""Nexmark-shaped Top-N, deduplication, window Top-N and OVER queries on the ``nexmark``
connector: streaming results (at parallelism 1 and 2) equal batch mode's. q19 is Top-N per
auction and q18 the last bid per (bidder, auction); as in the differential tests, only
columns fixed by the ranking are selected (ties on price / time are ambiguous)."""

from __future__ import annotations

import pytest
from harness import Differential
from nexmark_tables import DDL, VIEW

QUERIES = {
    "q19_top_n_per_auction": (
        "SELECT auction, price, rank_number FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "
        "auction ORDER BY price DESC) AS rank_number FROM bid) WHERE rank_number <= 10"
    ),
    "q18_last_bid_per_bidder_and_auction": (
        "SELECT auction, bidder, dateTime FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, "
        "auction ORDER BY dateTime DESC) AS rank_number FROM bid) WHERE rank_number <= 1"
    ),
    "window_top_3_auctions": (
        "SELECT window_start, bids, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "
        "window_start, window_end ORDER BY bids DESC) AS rn FROM (SELECT window_start, "
        "window_end, auction, COUNT(*) AS bids FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), "
        "INTERVAL '2' SECOND)) GROUP BY window_start, window_end, auction)) WHERE rn <= 3"
    ),
    "over_max_price_last_10s": (
        "SELECT auction, price, dateTime, MAX(price) OVER (PARTITION BY auction ORDER BY dateTime "
        "RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW) AS max_price FROM bid"
    ),
}


@pytest.mark.parametrize("parallelism", [1, 2])
@pytest.mark.parametrize("name", sorted(QUERIES))
def test_nexmark_shaped_query(name, parallelism):
    with Differential() as d:
        d.execute(DDL)
        d.execute(VIEW)
        d.execute(f"SET 'parallelism.default' = '{parallelism}'")
        d.execute("SET 'execution.embedded.parallelism' = 'threads'")
        d.execute("SET 'table.exec.mini-batch.size' = '500'")
        result = d.check(QUERIES[name])
        assert result.num_rows > 0
