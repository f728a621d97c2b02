-- FlowSQL live Nexmark: an unbounded auction event stream and a live hopping-window query.
--
--   .venv/bin/flowsql shell -i examples/nexmark.sql
--
-- runs this script, then shows the last statement's result live (a streaming SELECT over
-- unbounded input): press Q or Ctrl-C to stop it and get the FlowSQL> prompt, where the
-- tables and views below are ready for your own queries. The first window closes after a few
-- seconds (windows end every 2 s of event time; the watermark trails by 4 s).
--
-- Other ways to look at the same result:
--   SET 'sql-client.execution.result-mode' = 'tableau';    -- rows scroll as they arrive
--   SET 'sql-client.execution.result-mode' = 'changelog';  -- every change with its op
-- `flowsql shell -f examples/nexmark.sql` prints the result in tableau mode until Ctrl-C.

-- The unified Nexmark event table, as in Flink's Nexmark benchmark: one row per event, the
-- ROW matching event_type filled in, the others NULL. 'rate.limited' paces the generator
-- to event time, so 10,000 events (9,200 bids) arrive per second of wall time and the
-- windows close at a watchable pace; no 'events.num', so the stream never ends.
CREATE TEMPORARY TABLE nexmark (
    event_type INT,
    person ROW<
        id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR,
        state VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR>,
    auction ROW<
        id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT,
        dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT,
        extra VARCHAR>,
    bid ROW<
        auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
        dateTime TIMESTAMP(3), extra VARCHAR>,
    dateTime AS
        CASE
            WHEN event_type = 0 THEN person.dateTime
            WHEN event_type = 1 THEN auction.dateTime
            ELSE bid.dateTime
        END,
    WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH (
    'connector' = 'nexmark',
    'first-event.rate' = '10000',
    'next-event.rate' = '10000',
    'rate.limited' = 'true',
    'batch-size' = '1000'
);

-- Bids only, flattened.
CREATE TEMPORARY VIEW bid AS
SELECT
    bid.auction AS auction, bid.bidder AS bidder, bid.price AS price,
    bid.channel AS channel, bid.url AS url, dateTime, bid.extra AS extra
FROM nexmark
WHERE event_type = 2;

-- Live: bids in 10-second windows sliding every 2 seconds (one row per window as it closes).
SELECT
    window_start,
    window_end,
    COUNT(*) AS bids,
    COUNT(DISTINCT auction) AS auctions,
    COUNT(DISTINCT bidder) AS bidders,
    MAX(price) AS top_price
FROM TABLE(
    HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
