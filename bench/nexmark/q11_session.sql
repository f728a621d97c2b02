-- q11-like: bids per bidder in event-time session windows with a 10 s gap
-- (Nexmark q11, on the datagen bid table).
CREATE TABLE sink_q11 (
  bidder       BIGINT,
  bid_count    BIGINT,
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3)
) WITH ('connector' = 'blackhole');

INSERT INTO sink_q11
SELECT bidder, COUNT(*) AS bid_count, window_start, window_end
FROM TABLE(SESSION(TABLE bid PARTITION BY bidder, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
GROUP BY bidder, window_start, window_end;
