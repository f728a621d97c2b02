-- Nexmark q19 (auction Top-10 price): the 10 highest bids of each auction (Top-N over an
-- append-only input). `SELECT *` has the columns of nexmark_tables.sql's bid table.
CREATE TABLE discard_sink (
  seq BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, extra VARCHAR,
  auction_lag BIGINT, auction BIGINT, `dateTime` TIMESTAMP(3), rank_number BIGINT
) WITH ('connector' = 'blackhole');

INSERT INTO discard_sink
SELECT * FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number
    FROM bid
)
WHERE rank_number <= 10;
