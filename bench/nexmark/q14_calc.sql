-- q14-like: stateless CASE on the hour of the event time plus a range filter
-- (Nexmark q14 without its count_char UDF).
CREATE TABLE sink_q14 (
  auction     BIGINT,
  bidder      BIGINT,
  price       DECIMAL(23, 3),
  bidTimeType VARCHAR,
  date_time   TIMESTAMP(3)
) WITH ('connector' = 'blackhole');

INSERT INTO sink_q14
SELECT auction, bidder, 0.908 * price AS price,
  CASE
    WHEN HOUR(date_time) >= 8 AND HOUR(date_time) <= 18 THEN 'dayTime'
    WHEN HOUR(date_time) <= 6 OR HOUR(date_time) >= 20 THEN 'nightTime'
    ELSE 'otherTime'
  END AS bidTimeType,
  date_time
FROM bid
WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;
