-- q12-like: bids per bidder in 10 s tumbling windows, on event time (Nexmark q12 uses
-- processing time; event time makes the result reproducible).
CREATE TABLE sink_q12 (
  bidder       BIGINT,
  bid_count    BIGINT,
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3)
) WITH ('connector' = 'blackhole');

INSERT INTO sink_q12
SELECT bidder, COUNT(*) AS bid_count, window_start, window_end
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
GROUP BY bidder, window_start, window_end;
