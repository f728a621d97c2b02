-- FlowSQL quickstart: runs on the embedded defaults, no external service.
-- `make demo` runs this file with `flowsql shell -f examples/quickstart.sql`.

-- Bounded queries run on DuckDB in batch mode.
SET 'execution.runtime-mode' = 'batch';

-- A generated table of 100,000 bids: a sequence drives event time (1 ms per bid).
CREATE TABLE bids (
  seq       BIGINT,
  auction   BIGINT,
  bidder    BIGINT,
  price     BIGINT,
  channel   STRING,
  date_time AS CAST(TO_TIMESTAMP_LTZ(seq, 3) AS TIMESTAMP(3)),
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND
) WITH (
  'connector' = 'datagen',
  'seed' = '42',
  -- datagen throttles to 10,000 rows/s by default, as in Flink; lift the limit.
  'rows-per-second' = '10000000',
  'fields.seq.kind' = 'sequence',
  'fields.seq.start' = '1',
  'fields.seq.end' = '100000',
  'fields.auction.min' = '1000',
  'fields.auction.max' = '1009',
  'fields.bidder.min' = '1',
  'fields.bidder.max' = '500',
  'fields.price.min' = '1',
  'fields.price.max' = '10000',
  'fields.channel.length' = '6'
);

DESCRIBE bids;

-- A view, then a 10-second tumbling window over it.
CREATE VIEW expensive_bids AS
SELECT auction, bidder, price, date_time FROM bids WHERE price > 5000;

SELECT window_start, window_end, COUNT(*) AS bids, MAX(price) AS top_price
FROM TABLE(TUMBLE(TABLE expensive_bids, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
GROUP BY window_start, window_end
ORDER BY window_start
LIMIT 5;

-- Plain GROUP BY with a FILTER clause.
SELECT auction,
       COUNT(*) AS bids,
       COUNT(*) FILTER (WHERE price > 9000) AS high_bids,
       AVG(price) AS avg_price
FROM bids
GROUP BY auction
ORDER BY auction;

-- Write a result to Parquet files and read them back.
CREATE TABLE auction_stats (
  auction BIGINT,
  bids    BIGINT,
  revenue BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/auction_stats',
  'format' = 'parquet'
);

INSERT INTO auction_stats
SELECT auction, COUNT(*), SUM(price) FROM bids GROUP BY auction;

SELECT * FROM auction_stats ORDER BY revenue DESC LIMIT 3;

SHOW TABLES;

-- The same window as a continuous query on the streaming engine: event time, watermarks and
-- incremental aggregation on Arrow batches. The source is bounded, so the job runs to the end
-- of its input, where a final watermark fires every open window.
SET 'execution.runtime-mode' = 'streaming';

SELECT window_start, window_end, COUNT(*) AS bids, MAX(price) AS top_price
FROM TABLE(TUMBLE(TABLE expensive_bids, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
GROUP BY window_start, window_end
ORDER BY window_start
LIMIT 5;

-- How the streaming engine runs it.
EXPLAIN
SELECT window_start, window_end, COUNT(*) AS bids, MAX(price) AS top_price
FROM TABLE(TUMBLE(TABLE expensive_bids, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;

SHOW JOBS;
