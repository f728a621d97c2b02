"""Acceptance 2 of issue 10: the public Nexmark queries q3–q9, q12, q13, q15–q20 and q23 on
the ``nexmark`` connector run in streaming mode (parallelism 1 and 2, the changelog applied)
and give batch mode's result.

The query texts are the public suite's (:mod:`tests.sql.nexmark_sql`: its DDL with the
person/auction/bid views; q23 is the suite's later three-way join, written here in the same
shape), each ``INSERT INTO discard_sink`` turned into its ``SELECT``. The input is bounded and
small (:data:`EVENTS` events, 200 per second of event time, so 10-second windows close a few
times) so the whole module stays well under a minute. Where a query's result is not fixed by
its input the shape is adapted, and the adaptation is named in :data:`ADAPTED`. Queries that
use a construct FlowSQL does not run yet are ``xfail(strict=True)`` with that construct as the
reason, so the test fails (and must be updated) the day the construct is supported.
"""

from __future__ import annotations

import re

import pytest
from harness import Differential
from nexmark_tables import public_suite

DDL, QUERIES = public_suite()

EVENTS = 6000
RATE = 200  # events per second of event time: 6,000 events span 30 s

Q23 = """
SELECT bidder, price, channel, url, B.extra AS bid_extra,
       P.id AS person_id, name, emailAddress, creditCard, city, state, P.extra AS person_extra,
       itemName, description, initialBid, reserve, A.dateTime AS auction_dateTime, expires,
       seller, category, A.extra AS auction_extra
FROM bid B
JOIN person P ON P.id = B.bidder
JOIN auction A ON A.seller = B.bidder
"""

# Shapes changed so that the result is fixed by the input (and why).
ADAPTED = {
    # processing-time windows split the bids by when the job happens to run them; summing
    # each bidder's window counts gives a result that does not depend on it
    "q12": "SELECT bidder, SUM(bid_count) AS bid_count FROM ({q}) GROUP BY bidder",
}
# Bids of one auction with the same price are ranked in no fixed order (in Flink too); the
# bid's time (unique per event here) breaks the tie.
TIE_BREAKS = {"q19": ("ORDER BY price DESC)", "ORDER BY price DESC, dateTime ASC)")}

# The suite's q6 averages ``Q.final``, a column neither auction nor bid has (Flink does not
# run q6 at all: its OVER cannot consume the Top-N's updates); the final price of an auction
# is its winning bid's price. ``Q.dateTime`` is the
# auction's (the bid's is ``dateTime_1`` in both modes), unique per event, so the OVER order
# has no ties.
FIXES = {"q6": ("AVG(Q.final)", "AVG(Q.price)")}

# Constructs FlowSQL does not run yet, per query (strict xfail: remove when supported).
NOT_YET: dict[str, tuple[type[Exception], str]] = {}


def _select(name: str) -> str:
    if name == "q23":
        return Q23
    query = re.sub(r"^\s*INSERT INTO \w+\s*", "", QUERIES[name])
    for fixes in (TIE_BREAKS, FIXES):
        if name not in fixes:
            continue
        old, new = fixes[name]
        assert old in query
        query = query.replace(old, new)
    return ADAPTED[name].format(q=query) if name in ADAPTED else query


def _setup(d: Differential, parallelism: int) -> None:
    side = d.root / "side_input.txt"
    side.write_text("".join(f"{k},v{k % 7}\n" for k in range(0, 10_000, 3)))
    ddl = DDL.replace("'events.num' = '100000000'", f"'events.num' = '{EVENTS}'")
    ddl = ddl.replace("'10000000'", f"'{RATE}'")
    # q13's side input, declared with the legacy (Flink 1.x) options the suite uses for it
    ddl = re.sub(r"CREATE TABLE side_input .*?;", (
        "CREATE TABLE side_input (key BIGINT, `value` VARCHAR) WITH ("
        "'connector.type' = 'filesystem', "
        f"'connector.path' = 'file://{side}', 'format.type' = 'csv');"), ddl, flags=re.S)
    for statement in ddl.split(";"):
        if statement.strip():
            d.execute(statement)
    d.execute(f"SET 'parallelism.default' = '{parallelism}'")
    d.execute("SET 'execution.embedded.parallelism' = 'threads'")
    d.execute("SET 'table.exec.mini-batch.size' = '500'")


NAMES = ["q3", "q4", "q5", "q6", "q7", "q8", "q9", "q12", "q13", "q15", "q16", "q17", "q18",
         "q19", "q20", "q23"]


def _param(name: str):
    if name in NOT_YET:
        error, reason = NOT_YET[name]
        return pytest.param(name, marks=pytest.mark.xfail(raises=error, reason=reason, strict=True))
    return name


@pytest.mark.parametrize("parallelism", [1, 2])
@pytest.mark.parametrize("name", [_param(n) for n in NAMES])
def test_nexmark_query_streaming_equals_batch(name, parallelism):
    with Differential() as d:
        _setup(d, parallelism)
        result = d.check(_select(name))
        assert result.num_rows > 0
